#include "wattlab/cli/libtorch_binary.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

namespace wattlab::cli {
namespace {

// needs_libtorch on "wattlab " + `line`, split at spaces.
bool needs(const std::string& line) {
  std::vector<std::string> words = {"wattlab"};
  std::istringstream in(line);
  for (std::string w; in >> w;) words.push_back(w);
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);
  return needs_libtorch(static_cast<int>(words.size()), argv.data());
}

TEST(LibtorchBinaryTest, TheCommandsThatNeedLibTorchAreFoundWhereverTheOptionsAre) {
  EXPECT_TRUE(needs("train --model cnn"));
  EXPECT_TRUE(needs("--store runs.db quickstart"));
  EXPECT_TRUE(needs("--store=runs.db models ls"));
  EXPECT_TRUE(needs("infer-bench --run abc"));
  EXPECT_TRUE(needs("study run spec.yaml"));
  EXPECT_TRUE(needs("--store study study status x"));
  EXPECT_TRUE(needs("chess recognise board.png"));
  // --store's value is not the command, nor is an option's.
  EXPECT_FALSE(needs("--store train runs ls"));
  EXPECT_FALSE(needs("estimate --model resnet18 --epochs 3"));
  EXPECT_FALSE(needs("runs ls --model train"));
  EXPECT_FALSE(needs("study report demo --out r.html"));
  EXPECT_FALSE(needs("study --help"));
  EXPECT_FALSE(needs("chess perft startpos 3"));
  EXPECT_FALSE(needs("measure -- train"));
  EXPECT_FALSE(needs("--version"));
  EXPECT_FALSE(needs(""));
}

TEST(LibtorchBinaryTest, EveryTorchCommandHasAKnownParentAndADescription) {
  for (const TorchCommand& c : torch_commands()) {
    const std::string parent = c.parent;
    EXPECT_TRUE(parent.empty() || parent == "study" || parent == "chess") << c.name;
    EXPECT_FALSE(std::string(c.description).empty()) << c.name;
  }
}

}  // namespace
}  // namespace wattlab::cli
