#include "wattlab/core/env.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <utility>

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

std::string user_cache_path(const std::string& name) {
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg == '/') return (std::filesystem::path(xdg) / "wattlab" / name).string();
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return (std::filesystem::path(home) / ".cache" / "wattlab" / name).string();
  return "";
}

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

Result<RereadableFile> RereadableFile::open(const std::filesystem::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno_status(path, errno, "read");
  return RereadableFile(path, fd);
}

RereadableFile::RereadableFile(RereadableFile&& other) noexcept
    : path_(std::move(other.path_)), fd_(std::exchange(other.fd_, -1)), buffer_(std::move(other.buffer_)) {}

RereadableFile& RereadableFile::operator=(RereadableFile&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    path_ = std::move(other.path_);
    fd_ = std::exchange(other.fd_, -1);
    buffer_ = std::move(other.buffer_);
  }
  return *this;
}

RereadableFile::~RereadableFile() {
  if (fd_ >= 0) close(fd_);
}

Result<std::string_view> RereadableFile::read() {
  if (buffer_.size() < 4096) buffer_.resize(4096);
  size_t size = 0;
  for (;;) {
    if (size == buffer_.size()) buffer_.resize(buffer_.size() * 2);
    ssize_t n = pread(fd_, buffer_.data() + size, buffer_.size() - size, static_cast<off_t>(size));
    if (n > 0) {
      size += static_cast<size_t>(n);
    } else if (n == 0) {
      return std::string_view(buffer_.data(), size);
    } else if (errno != EINTR) {
      return errno_status(path_, errno, "read");
    }
  }
}

Result<std::string_view> RereadableFile::read_head(size_t max_bytes) {
  if (buffer_.size() < max_bytes) buffer_.resize(max_bytes);
  for (;;) {
    ssize_t n = pread(fd_, buffer_.data(), max_bytes, 0);
    if (n >= 0) return std::string_view(buffer_.data(), static_cast<size_t>(n));
    if (errno != EINTR) return errno_status(path_, errno, "read");
  }
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
