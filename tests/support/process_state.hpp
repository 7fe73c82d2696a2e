#pragma once
// What the tests need to know about another process, read from /proc without exceptions:
// the process can exit between any two reads, and libstdc++'s filebuf throws when read(2)
// fails with ESRCH on a /proc file opened just before (a CI run failed on exactly that).

#include <fcntl.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

namespace test_support {

// The text of /proc/<pid>/stat, or "" when the process is gone or the file cannot be read.
inline std::string proc_stat(pid_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/stat";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text;
  char buffer[1024];
  for (;;) {
    const ssize_t got = read(fd, buffer, sizeof buffer);
    if (got <= 0) {
      if (got < 0) text.clear();
      break;
    }
    text.append(buffer, static_cast<size_t>(got));
  }
  close(fd);
  return text;
}

// The state letter of /proc/<pid>/stat (R, S, D, Z, ...), or '\0' when the process is gone.
// The command name can hold ')' and spaces, so the state is found after the last ')'.
inline char process_state(pid_t pid) {
  const std::string text = proc_stat(pid);
  const auto close_paren = text.rfind(')');
  if (close_paren == std::string::npos || close_paren + 2 >= text.size()) return '\0';
  return text[close_paren + 2];
}

} // namespace test_support
