#include "wattlab/core/env.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

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
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) return errno_status(path, errno ? errno : ENOENT, "read");
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return errno_status(path, errno ? errno : EIO, "read");
  return out.str();
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
