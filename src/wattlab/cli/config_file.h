// A command's flags read from a YAML file (`wattlab train --config f.yaml`),
// and the resolved configuration written back as YAML.
//
// The file is a mapping whose keys are the command's long flags without the
// dashes and whose values are scalars, or sequences of scalars for flags that
// take several values:
//
//   model: resnet18
//   batch-size: 128
//   mean: [0.5, 0.5, 0.5]
//   nesterov: true
//
// Flags given on the command line win over the file. Every error names the
// file and line, and the key ("f.yaml:7: batch-size must be an integer (got
// 'abc')"). Torch-free: the file only fills CLI11 options.
#pragma once

#include <map>
#include <set>
#include <utility>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "wattlab/core/status.h"

namespace wattlab::cli {

class ConfigFile {
 public:
  // One key of the file.
  struct Entry {
    std::string key;                  // "batch-size"
    std::vector<std::string> values;  // one for a scalar, the items of a sequence
    int line = 0;                     // 1-based
  };

  ConfigFile() = default;
  // Entries given by the caller (a study spec's settings), located in `path`
  // for messages.
  ConfigFile(std::string path, std::vector<Entry> entries) : path_(std::move(path)), entries_(std::move(entries)) {}

  // Reads and parses `path`. NotFound when it does not exist; InvalidArgument
  // "PATH:LINE: ..." for a YAML syntax error, a document that is not a
  // mapping, a nested mapping, a null value or a key given twice.
  static Result<ConfigFile> read(const std::string& path);

  // Sets every option of `cmd` named by a key (key K is --K) that was not
  // given on the command line, and converts it as CLI11 would have. Errors
  // (InvalidArgument, "PATH:LINE: ..."): a key that names no option of `cmd`,
  // a key in `not_settable` (e.g. "config"), a value of the wrong type or
  // refused by the option's check. Call once, after `cmd` parsed its command line.
  Status apply(CLI::App& cmd, const std::set<std::string>& not_settable);

  // `status` located in the file: when it is InvalidArgument, its message starts with "--K " and
  // the value of K came from this file (not the command line), the same
  // message as "PATH:LINE: K ..."; otherwise `status` itself. For the
  // checks of the resolved values (validate()).
  Status locate(const Status& status) const;

  const std::string& path() const { return path_; }
  const std::vector<Entry>& entries() const { return entries_; }

 private:
  std::string path_;
  std::vector<Entry> entries_;  // in file order
  // Every name of an option apply() set from the file ("--data", "--data-dir")
  // -> the key that set it and its line.
  std::map<std::string, std::pair<std::string, int>> applied_;
};

// The resolved configuration of `cmd` after parsing (and ConfigFile::apply):
// one "key: value" line per long option, in the order they were added, with
// its value if it was given and its default otherwise; flags as true/false;
// options without a value and those in `left_out` omitted. Read back by
// ConfigFile it gives the same settings.
std::string resolved_config_yaml(const CLI::App& cmd, const std::set<std::string>& left_out);

}  // namespace wattlab::cli
