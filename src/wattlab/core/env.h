// The OS seam (after LevelDB's Env): every read of sysfs, /proc and the clock
// in wattlab goes through an Env, so tests substitute fixture trees and a fake
// clock, and users point wattlab at another tree with WATTLAB_SYSFS_ROOT and
// WATTLAB_PROC_ROOT.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "wattlab/core/clock.h"
#include "wattlab/core/status.h"

namespace wattlab {

class Env {
 public:
  // `sysfs_root` stands for /sys and `proc_root` for /proc. `clock` must
  // outlive the Env unless it is owned (see the factory functions).
  Env(std::filesystem::path sysfs_root, std::filesystem::path proc_root, Clock* clock);
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;

  // The process-wide default: /sys and /proc unless WATTLAB_SYSFS_ROOT or
  // WATTLAB_PROC_ROOT name other folders; the system clock.
  static Env& system();

  // Path of `relative` (e.g. "class/powercap") under the sysfs root.
  std::filesystem::path sysfs_path(const std::string& relative) const { return sysfs_root_ / relative; }
  // Path of `relative` (e.g. "stat", "1234/stat") under the proc root.
  std::filesystem::path proc_path(const std::string& relative) const { return proc_root_ / relative; }
  const std::filesystem::path& sysfs_root() const { return sysfs_root_; }
  const std::filesystem::path& proc_root() const { return proc_root_; }
  Clock& clock() const { return *clock_; }

  // Whole contents of a file. NotFound, PermissionDenied or IoError name the path.
  static Result<std::string> read_file(const std::filesystem::path& path);
  // Names of the entries of a directory, sorted.
  static Result<std::vector<std::string>> list_dir(const std::filesystem::path& path);

 private:
  std::filesystem::path sysfs_root_;
  std::filesystem::path proc_root_;
  Clock* clock_;
};

// Where wattlab keeps a cache file `name` of its own (safe to delete):
// $XDG_CACHE_HOME/wattlab/NAME when XDG_CACHE_HOME is an absolute path, else
// ~/.cache/wattlab/NAME; "" when neither variable is set.
std::string user_cache_path(const std::string& name);

// A file read again and again from its start, such as /proc/stat read by the
// sampler: opened once, each read() is pread() calls into a reused buffer, so
// a sample costs no path lookup, no open/close and no allocation.
class RereadableFile {
 public:
  // NotFound, PermissionDenied or IoError name the path.
  static Result<RereadableFile> open(const std::filesystem::path& path);
  RereadableFile(RereadableFile&& other) noexcept;
  RereadableFile& operator=(RereadableFile&& other) noexcept;
  RereadableFile(const RereadableFile&) = delete;
  RereadableFile& operator=(const RereadableFile&) = delete;
  ~RereadableFile();

  // The whole contents now; valid until the next read() or destruction.
  // IoError names the path.
  Result<std::string_view> read();
  // At most the first `max_bytes` bytes now, in one pread(): for a caller
  // that needs only a file's head, such as the first line of /proc/stat
  // (the kernel still formats the whole file, but one system call instead of
  // two). May be shorter than asked before the end of the file; the caller
  // checks that what it needs is complete. Valid until the next read or
  // destruction. IoError names the path.
  Result<std::string_view> read_head(size_t max_bytes);
  const std::filesystem::path& path() const { return path_; }

 private:
  RereadableFile(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;
  std::string buffer_;  // grows to the largest contents seen
};

}  // namespace wattlab
