// The artifact root: the one folder under which the server stores artifacts,
// addressed by client-supplied relative paths ("1/<run_id>/artifacts/model.pt").
//
// Nothing outside the root is ever read or written. Every path is checked
// (relative, '/'-separated, no empty, "." or ".." component, no NUL or
// backslash) and then walked one component at a time with openat(O_NOFOLLOW)
// from a descriptor of the root, so a symlink anywhere on the way (a folder
// or the file itself) is refused rather than followed, whatever it points at.
// Uploads go to a temporary file in the root's staging folder (beside the
// target when that is on another file system), locked while written, and are
// renamed over the target only when complete: a failed or interrupted upload
// leaves nothing behind, and one whose server was killed is removed by the
// next ArtifactRoot::open of the root.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

// One entry of a listed folder.
struct ArtifactEntry {
  std::string name;         // file or folder name (no '/')
  bool is_dir = false;
  int64_t size_bytes = 0;   // 0 for folders
};

// An opened regular file for reading; closes its descriptor when destroyed.
class ArtifactFile {
 public:
  ArtifactFile(int fd, int64_t size_bytes) : fd_(fd), size_bytes_(size_bytes) {}
  ~ArtifactFile();
  ArtifactFile(const ArtifactFile&) = delete;
  ArtifactFile& operator=(const ArtifactFile&) = delete;

  int64_t size_bytes() const { return size_bytes_; }
  // Reads up to `length` bytes at `offset` into `out`; the number read (0 at
  // the end), or -1 on a read error.
  int64_t read_at(int64_t offset, char* out, size_t length) const;

 private:
  int fd_;              // owned, O_RDONLY
  int64_t size_bytes_;  // size when opened
};

// An upload in progress: bytes go to a hidden temporary file, locked
// (flock) as long as the upload lives; commit() renames it into place.
// Destroying an uncommitted upload removes the temporary file.
class ArtifactUpload {
 public:
  // Takes ownership of `dir_fd` (the target's folder), `temp_dir_fd` (the
  // temporary file's) and `file_fd` (the temporary file `temp_name`, locked).
  ArtifactUpload(int dir_fd, int temp_dir_fd, int file_fd, std::string temp_name, std::string final_name,
                 std::string display_path);
  ~ArtifactUpload();
  ArtifactUpload(const ArtifactUpload&) = delete;
  ArtifactUpload& operator=(const ArtifactUpload&) = delete;

  // Appends bytes. IoError (disk full, ...) leaves the upload to be discarded.
  Status append(const char* data, size_t length);
  // Flushes and renames the file into place, then flushes its folder, so
  // that the artifact survives a power loss. InvalidArgument when the target
  // has become a folder or a symlink meanwhile; IoError otherwise.
  Status commit();
  int64_t bytes_written() const { return bytes_written_; }

 private:
  void discard();

  int dir_fd_;                // owned: the target's folder
  int temp_dir_fd_;           // owned: the temporary file's folder
  int file_fd_;               // owned: the temporary file (-1 once closed)
  std::string temp_name_;     // in temp_dir_fd_
  std::string final_name_;    // in dir_fd_
  std::string display_path_;  // the client's path, for messages
  int64_t bytes_written_ = 0;
  bool committed_ = false;
};

class ArtifactRoot {
 public:
  // Opens `dir` (creating it and missing parents) as the root, and removes
  // the temporary files of uploads whose process is gone (a killed server).
  // IoError or PermissionDenied naming the folder when it cannot be created
  // or opened.
  static Result<std::unique_ptr<ArtifactRoot>> open(const std::string& dir);
  ~ArtifactRoot();
  ArtifactRoot(const ArtifactRoot&) = delete;
  ArtifactRoot& operator=(const ArtifactRoot&) = delete;

  // The root folder as given to open().
  const std::string& dir() const { return dir_; }

  // The components of a client path, checked as described above. An empty
  // path (or "/"-less "") gives no components when `allow_empty`; a trailing
  // '/' is ignored. InvalidArgument naming the path otherwise.
  static Result<std::vector<std::string>> split_path(const std::string& path, bool allow_empty);

  // The entries of the folder at `path` ("" is the root), sorted by name;
  // symlinks, special files and unfinished uploads are left out. Empty when
  // the folder does not exist or `path` is a file (as MLflow answers).
  // InvalidArgument for an unsafe path or a symlink on the way.
  Result<std::vector<ArtifactEntry>> list(const std::string& path) const;
  // Opens the regular file at `path`. NotFound when it does not exist;
  // InvalidArgument for an unsafe path, a symlink, a folder or a special file.
  Result<std::unique_ptr<ArtifactFile>> open_file(const std::string& path) const;
  // Starts writing the file at `path`, creating missing folders on the way.
  // InvalidArgument for an unsafe or empty path, a symlink on the way or at
  // the target, or a target that is a folder; IoError otherwise.
  Result<std::unique_ptr<ArtifactUpload>> begin_upload(const std::string& path) const;
  // Deletes the file or folder (with everything in it) at `path`, as
  // MLflow's artifact DELETE does; nothing there is not an error. Symlinks
  // inside a deleted folder are removed, never followed. InvalidArgument for
  // an unsafe or empty path (the root itself) or a symlink on the way or at
  // `path`; IoError or PermissionDenied when something cannot be removed
  // (what was removed before stays removed).
  Status remove(const std::string& path) const;

  // Removes the staging folder's temporary files that no live upload holds
  // locked (open() does this); the number removed. Uploads in progress, in
  // this process or another, are left alone.
  size_t remove_stale_uploads() const;

 private:
  ArtifactRoot(int root_fd, int staging_fd, std::string dir)
      : root_fd_(root_fd), staging_fd_(staging_fd), dir_(std::move(dir)) {}
  // A descriptor of the folder `components` name below the root (walked with
  // O_NOFOLLOW), creating missing ones when `create`; -1 and `*status` set
  // otherwise (NotFound for a missing folder; `*not_a_folder` set when a
  // component is a file).
  int open_dir(const std::vector<std::string>& components, size_t count, bool create, const std::string& path,
               Status* status, bool* not_a_folder = nullptr) const;

  int root_fd_;      // owned, O_DIRECTORY
  int staging_fd_;   // owned, O_DIRECTORY: the staging folder in the root
  std::string dir_;  // as given to open()
};

// Content-Type for a file name by its extension; application/octet-stream for
// unknown ones. Markup that a browser would run (HTML, SVG) is served as text/plain.
std::string artifact_content_type(const std::string& name);

}  // namespace wattlab
