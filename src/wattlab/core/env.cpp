#include "wattlab/core/env.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace wattlab {

Env::Env(std::filesystem::path sysfs_root, std::filesystem::path proc_root, Clock* clock)
    : sysfs_root_(std::move(sysfs_root)), proc_root_(std::move(proc_root)), clock_(clock) {}

Env& Env::system() {
  static SystemClock clock;
  static Env env = [] {
    const char* sys = std::getenv("WATTLAB_SYSFS_ROOT");
    const char* proc = std::getenv("WATTLAB_PROC_ROOT");
    return Env(sys && *sys ? sys : "/sys", proc && *proc ? proc : "/proc", &clock);
  }();
  return env;
}

namespace {
Status errno_status(const std::filesystem::path& path, int err, const char* action) {
  std::string msg = std::string("cannot ") + action + " " + path.string() + ": " + std::strerror(err);
  switch (err) {
    case ENOENT: case ENOTDIR: return Status::not_found(msg);
    case EACCES: case EPERM: return Status::permission_denied(msg);
    default: return Status::io_error(msg);
  }
}
}  // namespace

Result<std::string> Env::read_file(const std::filesystem::path& path) {
  // Plain open/read: sysfs and /proc files are small and read many times a
  // second by the sampler, so avoid iostreams' per-open cost.
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(path, errno, "read");
  std::string text;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0) {
      text.append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      break;
    } else if (errno != EINTR) {
      int err = errno;
      close(fd);
      return errno_status(path, err, "read");
    }
  }
  close(fd);
  return text;
}

Result<std::vector<std::string>> Env::list_dir(const std::filesystem::path& path) {
  std::error_code ec;
  std::vector<std::string> names;
  for (std::filesystem::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    names.push_back(it->path().filename().string());
  }
  if (ec) return errno_status(path, ec.value(), "list");
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace wattlab
