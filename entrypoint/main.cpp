// migrate-init: migrate a PostgreSQL database, then run the service in its place.
// Everything lives in the library (src/); see src/app.cpp for the steps.
#include "app.hpp"

#include <string>
#include <vector>

int main(int argc, char** argv) {
  return migrate_init::run(std::vector<std::string>(argv + 1, argv + argc));
}
