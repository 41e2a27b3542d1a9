// ArtifactRoot behaviour the HTTP conformance files cannot reach: an upload
// abandoned half-way, a symlink appearing between begin and commit, the
// path checks one by one.
#include "wattlab/server/artifact_root.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace wattlab {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

class ArtifactRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    base_ = fs::temp_directory_path() / ("wattlab-artifact-root-test-" + std::to_string(getpid()));
    fs::remove_all(base_);
    fs::create_directories(base_ / "outside");
    std::ofstream(base_ / "outside" / "secret.txt") << "secret";
    auto root = ArtifactRoot::open((base_ / "root").string());
    ASSERT_TRUE(root.ok()) << root.status().to_string();
    root_ = std::move(root).value();
  }
  void TearDown() override {
    root_.reset();
    fs::remove_all(base_);
  }
  // Every entry below the root, not following symlinks; the staging folder
  // itself left out (what is in it is listed).
  std::vector<std::string> tree() const {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(base_ / "root"); it != fs::recursive_directory_iterator(); ++it) {
      const std::string rel = fs::relative(it->path(), base_ / "root").string();
      if (rel != kStaging) out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  static constexpr const char* kStaging = ".wattlab-upload-staging";
  fs::path base_;
  std::unique_ptr<ArtifactRoot> root_;
};

TEST(ArtifactPath, AcceptsRelativePathsAndRefusesEverythingElse) {
  struct Case {
    std::string path;
    bool allow_empty;
    std::vector<std::string> parts;  // empty with ok=false: refused
    bool ok;
  };
  const std::vector<Case> cases = {
      {"a", false, {"a"}, true},
      {"1/abc/artifacts/model.pt", false, {"1", "abc", "artifacts", "model.pt"}, true},
      {"dir/", true, {"dir"}, true},
      {"", true, {}, true},
      {"", false, {}, false},
      {"caf\xc3\xa9 menu.csv", false, {"caf\xc3\xa9 menu.csv"}, true},
      {"..", false, {}, false},
      {"a/../b", false, {}, false},
      {"a/..", false, {}, false},
      {"./a", false, {}, false},
      {"/etc/passwd", false, {}, false},
      {"//etc", true, {}, false},
      {"a//b", false, {}, false},
      {"a\\..\\b", false, {}, false},
      {std::string("a\0b", 3), false, {}, false},
      {".wattlab-upload-1", false, {}, false},
      {std::string(256, 'x'), false, {}, false},
      {std::string(5000, 'a'), false, {}, false},
      {"...", false, {"..."}, true},  // a legal name, not a parent
      {"..a", false, {"..a"}, true},
  };
  for (const auto& c : cases) {
    auto parts = ArtifactRoot::split_path(c.path, c.allow_empty);
    EXPECT_EQ(parts.ok(), c.ok) << "'" << c.path.substr(0, 40) << "'";
    if (parts.ok() && c.ok) {
      EXPECT_EQ(*parts, c.parts) << c.path;
    }
    if (!parts.ok()) {
      EXPECT_EQ(parts.status().code(), Status::Code::kInvalidArgument);
      EXPECT_NE(parts.status().message().find("Invalid artifact path"), std::string::npos);
    }
  }
}

TEST_F(ArtifactRootTest, AnAbandonedUploadLeavesNothing) {
  {
    auto upload = root_->begin_upload("a/b/model.bin");
    ASSERT_TRUE(upload.ok()) << upload.status().to_string();
    ASSERT_TRUE((*upload)->append("partial", 7).ok());
    // The temporary file is hidden from listings while it is written.
    auto listed = root_->list("a/b");
    ASSERT_TRUE(listed.ok());
    EXPECT_TRUE(listed->empty());
  }  // destroyed without commit(), as when a client disconnects
  EXPECT_EQ(tree(), (std::vector<std::string>{"a", "a/b"}));
  EXPECT_EQ(root_->open_file("a/b/model.bin").status().code(), Status::Code::kNotFound);
}

// A server killed during an upload leaves its temporary file; the next
// server on the root removes it, but never one that a live upload holds.
TEST_F(ArtifactRootTest, OpeningTheRootRemovesUploadsOfKilledServers) {
  auto live = root_->begin_upload("a/live.bin");
  ASSERT_TRUE(live.ok());
  ASSERT_TRUE((*live)->append("in progress", 11).ok());
  const fs::path staging = base_ / "root" / kStaging;
  std::ofstream(staging / ".wattlab-upload-999999-0-1") << "left by a killed server";
  ASSERT_EQ(tree().size(), 3u) << "a/, the live upload's file and the stale one";

  auto reopened = ArtifactRoot::open((base_ / "root").string());
  ASSERT_TRUE(reopened.ok());
  EXPECT_FALSE(fs::exists(staging / ".wattlab-upload-999999-0-1"));
  ASSERT_EQ(tree().size(), 2u) << "the live upload's file stays";
  ASSERT_TRUE((*live)->commit().ok());
  EXPECT_EQ(tree(), (std::vector<std::string>{"a", "a/live.bin"}));
  EXPECT_EQ(read_file(base_ / "root" / "a" / "live.bin"), "in progress");
  EXPECT_EQ((*reopened)->remove_stale_uploads(), 0u);
}

TEST_F(ArtifactRootTest, CommitReplacesTheFileWhole) {
  std::ofstream(base_ / "root" / "f.txt") << "old";
  auto upload = root_->begin_upload("f.txt");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->append("new", 3).ok());
  EXPECT_EQ(read_file(base_ / "root" / "f.txt"), "old");  // untouched until commit
  ASSERT_TRUE((*upload)->commit().ok());
  EXPECT_EQ(read_file(base_ / "root" / "f.txt"), "new");
  EXPECT_EQ(tree(), (std::vector<std::string>{"f.txt"}));

  auto file = root_->open_file("f.txt");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->size_bytes(), 3);
  char buf[8] = {};
  EXPECT_EQ((*file)->read_at(1, buf, sizeof(buf)), 2);
  EXPECT_EQ(std::string(buf, 2), "ew");
}

TEST_F(ArtifactRootTest, ASymlinkPlantedDuringAnUploadIsNotWrittenThrough) {
  auto upload = root_->begin_upload("x.txt");
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->append("pwned", 5).ok());
  fs::create_symlink(base_ / "outside" / "secret.txt", base_ / "root" / "x.txt");
  Status s = (*upload)->commit();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.to_string();
  EXPECT_EQ(read_file(base_ / "outside" / "secret.txt"), "secret");
}

TEST_F(ArtifactRootTest, SymlinksAreNeverFollowedAndNeverListed) {
  fs::create_directories(base_ / "root" / "d");
  fs::create_directory_symlink(base_ / "outside", base_ / "root" / "d" / "out");
  fs::create_symlink(base_ / "outside" / "secret.txt", base_ / "root" / "d" / "s.txt");
  EXPECT_EQ(root_->open_file("d/out/secret.txt").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(root_->open_file("d/s.txt").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(root_->list("d/out").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(root_->begin_upload("d/out/new.txt").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(root_->begin_upload("d/s.txt").status().code(), Status::Code::kInvalidArgument);
  auto listed = root_->list("d");
  ASSERT_TRUE(listed.ok());
  EXPECT_TRUE(listed->empty());
  EXPECT_EQ(read_file(base_ / "outside" / "secret.txt"), "secret");
  EXPECT_FALSE(fs::exists(base_ / "outside" / "new.txt"));
}

TEST_F(ArtifactRootTest, RootIsCreatedWithItsParents) {
  auto nested = ArtifactRoot::open((base_ / "x" / "y" / "z").string());
  ASSERT_TRUE(nested.ok()) << nested.status().to_string();
  EXPECT_TRUE(fs::is_directory(base_ / "x" / "y" / "z"));
  std::ofstream(base_ / "file") << "f";
  auto on_a_file = ArtifactRoot::open((base_ / "file" / "sub").string());
  EXPECT_FALSE(on_a_file.ok());
  EXPECT_NE(on_a_file.status().message().find("--artifacts"), std::string::npos) << on_a_file.status().message();
}

TEST(ArtifactContentType, ByExtension) {
  EXPECT_EQ(artifact_content_type("a/b/notes.txt"), "text/plain");
  EXPECT_EQ(artifact_content_type("metrics.JSON"), "application/json");
  EXPECT_EQ(artifact_content_type("plot.png"), "image/png");
  EXPECT_EQ(artifact_content_type("model/MLmodel"), "text/plain");
  EXPECT_EQ(artifact_content_type("report.html"), "text/plain");  // never rendered by a browser
  EXPECT_EQ(artifact_content_type("weights.pt"), "application/octet-stream");
  EXPECT_EQ(artifact_content_type(".bashrc"), "application/octet-stream");
  EXPECT_EQ(artifact_content_type("noext"), "application/octet-stream");
}

}  // namespace
}  // namespace wattlab
