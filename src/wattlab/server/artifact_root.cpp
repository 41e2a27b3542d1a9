#include "wattlab/server/artifact_root.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>
#include <utility>
#include <vector>

namespace wattlab {

namespace {

// Hidden names of uploads in progress; never listed, never served.
constexpr const char* kTempPrefix = ".wattlab-upload-";
// The folder in the root where uploads are written until they are complete
// (its name has kTempPrefix, so no client path reaches it).
constexpr const char* kStagingFolder = ".wattlab-upload-staging";
constexpr size_t kMaxPathBytes = 4096;

std::string errno_text(int err) { return std::strerror(err); }

Status io_status(const std::string& what, int err) {
  if (err == EACCES || err == EPERM) return Status::permission_denied(what + ": " + errno_text(err));
  return Status::io_error(what + ": " + errno_text(err));
}

std::string temp_name() {
  static std::atomic<uint64_t> counter{0};
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::string(kTempPrefix) + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(rng() & 0xffffffffu);
}

// Why `name` in `dir_fd` could not be opened (openat failed with `err`): a
// symlink, a file where a folder should be (*not_a_folder set), or missing.
Status refused_component(int dir_fd, const std::string& name, const std::string& path, int err,
                         bool* not_a_folder = nullptr) {
  struct stat st {};
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode)) {
    return Status::invalid_argument("artifact path '" + path + "' goes through the symlink '" + name +
                                    "'; symlinks in the artifact root are never followed");
  }
  if (err == ENOENT) return Status::not_found("no artifact at '" + path + "'");
  if (err == ENOTDIR) {
    if (not_a_folder) *not_a_folder = true;
    return Status::invalid_argument("artifact path '" + path + "' goes through '" + name + "', which is a file");
  }
  return io_status("cannot open artifact path '" + path + "'", err);
}

}  // namespace

ArtifactFile::~ArtifactFile() {
  if (fd_ >= 0) close(fd_);
}

int64_t ArtifactFile::read_at(int64_t offset, char* out, size_t length) const {
  for (;;) {
    ssize_t n = pread(fd_, out, length, static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    return n;
  }
}

ArtifactUpload::ArtifactUpload(int dir_fd, int temp_dir_fd, int file_fd, std::string temp_name,
                               std::string final_name, std::string display_path)
    : dir_fd_(dir_fd),
      temp_dir_fd_(temp_dir_fd),
      file_fd_(file_fd),
      temp_name_(std::move(temp_name)),
      final_name_(std::move(final_name)),
      display_path_(std::move(display_path)) {}

ArtifactUpload::~ArtifactUpload() {
  if (!committed_) discard();
  if (file_fd_ >= 0) close(file_fd_);
  if (dir_fd_ >= 0) close(dir_fd_);
  if (temp_dir_fd_ >= 0) close(temp_dir_fd_);
}

void ArtifactUpload::discard() {
  // Unlinked while still open (and locked), so that a cleanup by another
  // server never sees it unlocked.
  unlinkat(temp_dir_fd_, temp_name_.c_str(), 0);
  if (file_fd_ >= 0) {
    close(file_fd_);
    file_fd_ = -1;
  }
}

Status ArtifactUpload::append(const char* data, size_t length) {
  if (file_fd_ < 0) return Status::io_error("the upload of '" + display_path_ + "' was already closed");
  while (length > 0) {
    ssize_t n = write(file_fd_, data, length);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_status("cannot write artifact '" + display_path_ + "'", errno);
    }
    data += n;
    length -= static_cast<size_t>(n);
    bytes_written_ += n;
  }
  return Status();
}

Status ArtifactUpload::commit() {
  if (file_fd_ < 0) return Status::io_error("the upload of '" + display_path_ + "' was already closed");
  if (fsync(file_fd_) != 0) return io_status("cannot flush artifact '" + display_path_ + "'", errno);
  // rename() replaces a symlink itself rather than its target, but refuse
  // one that appeared since begin_upload() anyway, and never replace a folder.
  struct stat st {};
  if (fstatat(dir_fd_, final_name_.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode)) return Status::invalid_argument("artifact '" + display_path_ + "' is a symlink");
    if (S_ISDIR(st.st_mode)) return Status::invalid_argument("artifact '" + display_path_ + "' is a folder");
  }
  if (renameat(temp_dir_fd_, temp_name_.c_str(), dir_fd_, final_name_.c_str()) != 0) {
    return io_status("cannot store artifact '" + display_path_ + "'", errno);
  }
  committed_ = true;
  // Closed (and unlocked) only once renamed out of the staging folder.
  const int closed = close(file_fd_);
  file_fd_ = -1;
  if (closed != 0) return io_status("cannot close artifact '" + display_path_ + "'", errno);
  // The new name survives a power loss too.
  if (fsync(dir_fd_) != 0) return io_status("cannot flush the folder of artifact '" + display_path_ + "'", errno);
  return Status();
}

Result<std::unique_ptr<ArtifactRoot>> ArtifactRoot::open(const std::string& dir) {
  if (dir.empty()) return Status::invalid_argument("the artifact root is empty — give a folder such as ./wattlab-artifacts");
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::io_error("cannot create the artifact root " + dir + ": " + ec.message() +
                            " — choose another folder with --artifacts");
  }
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_status("cannot open the artifact root " + dir + " (choose another with --artifacts)", errno);
  if (mkdirat(fd, kStagingFolder, 0700) != 0 && errno != EEXIST) {
    const int err = errno;
    close(fd);
    return io_status("cannot create " + dir + "/" + kStagingFolder + " (choose another root with --artifacts)", err);
  }
  const int staging = openat(fd, kStagingFolder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (staging < 0) {
    const int err = errno;
    close(fd);
    return io_status("cannot open " + dir + "/" + kStagingFolder, err);
  }
  std::unique_ptr<ArtifactRoot> root(new ArtifactRoot(fd, staging, dir));
  root->remove_stale_uploads();
  return root;
}

ArtifactRoot::~ArtifactRoot() {
  close(root_fd_);
  close(staging_fd_);
}

size_t ArtifactRoot::remove_stale_uploads() const {
  // A fresh descriptor: listing moves the descriptor's offset.
  const int fd = openat(staging_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* d = fd >= 0 ? fdopendir(fd) : nullptr;
  if (d == nullptr) {
    if (fd >= 0) close(fd);
    return 0;
  }
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) {
    if (std::strncmp(e->d_name, kTempPrefix, std::strlen(kTempPrefix)) == 0) names.emplace_back(e->d_name);
  }
  size_t removed = 0;
  for (const auto& name : names) {
    // Every upload in progress holds its file locked; a lock that can be
    // taken belonged to a process that is gone.
    const int file = openat(dirfd(d), name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (file < 0) continue;
    if (flock(file, LOCK_EX | LOCK_NB) == 0 && unlinkat(dirfd(d), name.c_str(), 0) == 0) ++removed;
    close(file);
  }
  closedir(d);
  return removed;
}

Result<std::vector<std::string>> ArtifactRoot::split_path(const std::string& path, bool allow_empty) {
  auto invalid = [&](const std::string& why) {
    std::string shown = path.size() > 200 ? path.substr(0, 200) + "..." : path;
    for (char& c : shown)
      if (static_cast<unsigned char>(c) < 0x20) c = '?';
    return Status::invalid_argument("Invalid artifact path '" + shown + "': " + why);
  };
  if (path.size() > kMaxPathBytes) return invalid("longer than " + std::to_string(kMaxPathBytes) + " bytes");
  if (path.find('\0') != std::string::npos) return invalid("it contains a NUL byte");
  if (path.find('\\') != std::string::npos) return invalid("it contains a backslash; separate folders with '/'");
  if (!path.empty() && path.front() == '/') return invalid("absolute paths are not allowed; give a path relative to the artifact root");
  std::string trimmed = path;
  if (!trimmed.empty() && trimmed.back() == '/') trimmed.pop_back();
  std::vector<std::string> parts;
  if (trimmed.empty()) {
    if (allow_empty) return parts;
    return invalid("a file path is required");
  }
  size_t start = 0;
  for (;;) {
    size_t end = trimmed.find('/', start);
    std::string part = trimmed.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (part.empty()) return invalid("it has an empty component ('//')");
    if (part == "..") return invalid("'..' components are not allowed");
    if (part == ".") return invalid("'.' components are not allowed");
    if (part.size() > 255) return invalid("a component is longer than 255 bytes");
    if (part.rfind(kTempPrefix, 0) == 0) return invalid("names starting with " + std::string(kTempPrefix) + " are reserved");
    parts.push_back(std::move(part));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return parts;
}

int ArtifactRoot::open_dir(const std::vector<std::string>& components, size_t count, bool create,
                           const std::string& path, Status* status, bool* not_a_folder) const {
  // A fresh descriptor rather than dup(): a dup shares the directory offset,
  // so listing it would leave the root's offset at its end.
  int fd = openat(root_fd_, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    *status = io_status("cannot open the artifact root", errno);
    return -1;
  }
  for (size_t i = 0; i < count; ++i) {
    const std::string& name = components[i];
    if (create && mkdirat(fd, name.c_str(), 0755) != 0 && errno != EEXIST) {
      *status = refused_component(fd, name, path, errno, not_a_folder);
      close(fd);
      return -1;
    }
    int next = openat(fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) {
      *status = refused_component(fd, name, path, errno, not_a_folder);
      close(fd);
      return -1;
    }
    close(fd);
    fd = next;
  }
  return fd;
}

Result<std::vector<ArtifactEntry>> ArtifactRoot::list(const std::string& path) const {
  auto parts = split_path(path, /*allow_empty=*/true);
  if (!parts.ok()) return parts.status();
  Status status;
  bool not_a_folder = false;
  int fd = open_dir(*parts, parts->size(), /*create=*/false, path, &status, &not_a_folder);
  if (fd < 0) {
    // A missing folder, or a file where the folder would be, lists as empty.
    if (status.code() == Status::Code::kNotFound || not_a_folder) return std::vector<ArtifactEntry>{};
    return status;
  }
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    return io_status("cannot list artifact folder '" + path + "'", err);
  }
  std::vector<ArtifactEntry> entries;
  while (dirent* e = readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name.rfind(kTempPrefix, 0) == 0) continue;
    struct stat st {};
    if (fstatat(dirfd(d), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) entries.push_back({name, true, 0});
    else if (S_ISREG(st.st_mode)) entries.push_back({name, false, static_cast<int64_t>(st.st_size)});
  }
  closedir(d);
  std::sort(entries.begin(), entries.end(), [](const ArtifactEntry& a, const ArtifactEntry& b) { return a.name < b.name; });
  return entries;
}

Result<std::unique_ptr<ArtifactFile>> ArtifactRoot::open_file(const std::string& path) const {
  auto parts = split_path(path, /*allow_empty=*/false);
  if (!parts.ok()) return parts.status();
  Status status;
  int dir = open_dir(*parts, parts->size() - 1, /*create=*/false, path, &status);
  if (dir < 0) return status;
  const std::string& name = parts->back();
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused below).
  int fd = openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    Status s = refused_component(dir, name, path, errno);
    close(dir);
    return s;
  }
  close(dir);
  struct stat st {};
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    return io_status("cannot read artifact '" + path + "'", err);
  }
  if (!S_ISREG(st.st_mode)) {
    close(fd);
    return Status::invalid_argument("artifact path '" + path + "' is " +
                                    (S_ISDIR(st.st_mode) ? "a folder; list it with ?path=" : "not a regular file"));
  }
  int flags = fcntl(fd, F_GETFL);
  if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
  return std::make_unique<ArtifactFile>(fd, static_cast<int64_t>(st.st_size));
}

Result<std::unique_ptr<ArtifactUpload>> ArtifactRoot::begin_upload(const std::string& path) const {
  auto parts = split_path(path, /*allow_empty=*/false);
  if (!parts.ok()) return parts.status();
  Status status;
  int dir = open_dir(*parts, parts->size() - 1, /*create=*/true, path, &status);
  if (dir < 0) return status;
  const std::string& name = parts->back();
  struct stat st {};
  if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0) {
    if (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
      close(dir);
      return Status::invalid_argument("artifact path '" + path + "' is " +
                                      (S_ISLNK(st.st_mode) ? "a symlink; symlinks in the artifact root are never followed"
                                       : S_ISDIR(st.st_mode) ? "a folder"
                                                             : "not a regular file"));
    }
  }
  // The temporary file goes to the staging folder, where a later server
  // finds it should this one be killed; beside the target when that is on
  // another file system (a rename cannot cross it).
  struct stat target_dir {}, staging_dir {};
  const bool same_fs = fstat(dir, &target_dir) == 0 && fstat(staging_fd_, &staging_dir) == 0 &&
                       target_dir.st_dev == staging_dir.st_dev;
  const int temp_dir = dup(same_fs ? staging_fd_ : dir);
  const std::string temp = temp_name();
  int fd = temp_dir < 0 ? -1 : openat(temp_dir, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (fd >= 0) {
      unlinkat(temp_dir, temp.c_str(), 0);
      close(fd);
    }
    if (temp_dir >= 0) close(temp_dir);
    close(dir);
    return io_status("cannot create a temporary file for artifact '" + path + "'", err);
  }
  return std::make_unique<ArtifactUpload>(dir, temp_dir, fd, temp, name, path);
}

namespace {

// Removes the folder `name` in `parent_fd` and everything in it, without
// following any symlink (a symlink is removed like a file). `path` names the
// folder in messages.
Status remove_tree(int parent_fd, const std::string& name, const std::string& path) {
  int fd = openat(parent_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return refused_component(parent_fd, name, path, errno);
  DIR* d = fdopendir(fd);
  if (d == nullptr) {
    int err = errno;
    close(fd);
    return io_status("cannot list artifact folder '" + path + "'", err);
  }
  std::vector<std::pair<std::string, bool>> entries;  // name, is a folder
  while (dirent* e = readdir(d)) {
    std::string entry = e->d_name;
    if (entry == "." || entry == "..") continue;
    struct stat st {};
    if (fstatat(dirfd(d), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;  // gone meanwhile
    entries.emplace_back(std::move(entry), S_ISDIR(st.st_mode));
  }
  Status status;
  for (const auto& [entry, is_dir] : entries) {
    const std::string entry_path = path + "/" + entry;
    if (is_dir) status = remove_tree(dirfd(d), entry, entry_path);
    else if (unlinkat(dirfd(d), entry.c_str(), 0) != 0 && errno != ENOENT)
      status = io_status("cannot delete artifact '" + entry_path + "'", errno);
    if (!status.ok()) break;
  }
  closedir(d);
  if (!status.ok()) return status;
  if (unlinkat(parent_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return io_status("cannot delete artifact folder '" + path + "'", errno);
  }
  return Status();
}

}  // namespace

Status ArtifactRoot::remove(const std::string& path) const {
  auto parts = split_path(path, /*allow_empty=*/false);
  if (!parts.ok()) return parts.status();
  Status status;
  bool not_a_folder = false;
  int dir = open_dir(*parts, parts->size() - 1, /*create=*/false, path, &status, &not_a_folder);
  if (dir < 0) {
    // Nothing can be at a path whose folder is missing or is a file.
    if (status.code() == Status::Code::kNotFound || not_a_folder) return Status();
    return status;
  }
  const std::string& name = parts->back();
  struct stat st {};
  if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    int err = errno;
    close(dir);
    return err == ENOENT ? Status() : io_status("cannot delete artifact '" + path + "'", err);
  }
  if (S_ISLNK(st.st_mode)) {
    close(dir);
    return Status::invalid_argument("artifact path '" + path +
                                    "' is a symlink; symlinks in the artifact root are never followed");
  }
  if (S_ISDIR(st.st_mode)) status = remove_tree(dir, name, path);
  else if (unlinkat(dir, name.c_str(), 0) != 0 && errno != ENOENT)
    status = io_status("cannot delete artifact '" + path + "'", errno);
  close(dir);
  return status;
}

std::string artifact_content_type(const std::string& name) {
  static const std::map<std::string, std::string> kTypes = {
      {"txt", "text/plain"},         {"log", "text/plain"},        {"md", "text/plain"},
      {"yaml", "text/plain"},        {"yml", "text/plain"},        {"py", "text/plain"},
      {"html", "text/plain"},        {"htm", "text/plain"},        {"svg", "text/plain"},
      {"csv", "text/csv"},           {"tsv", "text/tab-separated-values"},
      {"json", "application/json"},  {"pdf", "application/pdf"},   {"png", "image/png"},
      {"jpg", "image/jpeg"},         {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
      {"webp", "image/webp"},        {"gz", "application/gzip"},   {"zip", "application/zip"},
      {"tar", "application/x-tar"},
  };
  size_t slash = name.rfind('/');
  std::string base = slash == std::string::npos ? name : name.substr(slash + 1);
  if (base == "MLmodel") return "text/plain";
  size_t dot = base.rfind('.');
  if (dot == std::string::npos || dot == 0) return "application/octet-stream";
  std::string ext = base.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace wattlab
