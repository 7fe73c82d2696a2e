#include "pg/connect.hpp"

#include <doctest/doctest.h>

using namespace migrate_init;
using pg::ConnectFailure;
using pg::classify_connect_error;

TEST_CASE("classify_connect_error treats what waiting cannot fix as permanent") {
  for (const char* message : {
           "connection to server at \"db\" (10.0.0.5), port 5432 failed: FATAL:  password authentication failed for "
           "user \"x\"",
           "FATAL:  database \"x\" does not exist",
           "FATAL:  role \"x\" does not exist",
           "FATAL:  no pg_hba.conf entry for host \"10.0.0.7\", user \"app\", database \"app\", no encryption",
           "fe_sendauth: no password supplied",
           "invalid URI query parameter: \"foo\"",
           "invalid connection option \"bogus\"",
           "missing \"=\" after \"host\" in connection info string",
           "invalid sslmode value: \"sometimes\"",
           "FATAL:  role \"x\" is not permitted to log in",
           "FATAL:  permission denied for database \"app\"",
           "invalid port number: \"abc\"",
           "SSL error: certificate verify failed",
       }) {
    CAPTURE(message);
    CHECK(classify_connect_error(message) == ConnectFailure::permanent);
  }
}

TEST_CASE("classify_connect_error matches regardless of case") {
  CHECK(classify_connect_error("FATAL: PASSWORD AUTHENTICATION FAILED for user \"x\"") == ConnectFailure::permanent);
}

TEST_CASE("classify_connect_error treats a database that is still coming up as transient") {
  for (const char* message : {
           "connection to server at \"db\" (10.0.0.5), port 5432 failed: Connection refused\tIs the server running on "
           "that host and accepting TCP/IP connections?",
           "could not translate host name \"db\" to address: Name or service not known",
           "could not translate host name \"db\" to address: Temporary failure in name resolution",
           "FATAL:  the database system is starting up",
           "FATAL:  the database system is shutting down",
           "FATAL:  sorry, too many clients already",
           "timeout expired",
           "server closed the connection unexpectedly",
           "",
       }) {
    CAPTURE(message);
    CHECK(classify_connect_error(message) == ConnectFailure::transient);
  }
}

TEST_CASE("classify_connect_error is not fooled by a host name that contains a permanent-sounding word") {
  CHECK(classify_connect_error("could not translate host name \"certificate-db\" to address: Name or service not known") ==
        ConnectFailure::transient);
  CHECK(classify_connect_error("connection to server at \"permission-denied.internal\" (10.0.0.1), port 5432 failed: "
                               "Connection refused") == ConnectFailure::transient);
}

TEST_CASE("connection_option_problem refuses bad ports and SSL modes before any connection is tried") {
  using pg::connection_option_problem;
  CHECK(connection_option_problem("port", "5432") == "");
  CHECK(connection_option_problem("port", "5432,,6432") == ""); // multi-host; empty: the default
  CHECK(connection_option_problem("port", "abc") == "port \"abc\" is not a port number (1 to 65535)");
  CHECK(connection_option_problem("port", "5432,0") == "port \"0\" is not a port number (1 to 65535)");
  CHECK(connection_option_problem("port", "65536") == "port \"65536\" is not a port number (1 to 65535)");
  CHECK(connection_option_problem("port", "54 32") == "port \"54 32\" is not a port number (1 to 65535)");
  for (const char* mode : {"disable", "allow", "prefer", "require", "verify-ca", "verify-full"}) {
    CHECK(connection_option_problem("sslmode", mode) == "");
  }
  CHECK(connection_option_problem("sslmode", "sometimes").find("sslmode \"sometimes\" is not an SSL mode") == 0);
  CHECK(connection_option_problem("host", "anything at all") == "");
}
