#include "wattlab/cli/config_file.h"

#include <yaml-cpp/yaml.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace wattlab::cli {
namespace {

// What a value of an option of CLI11 type `type` must be, for messages.
std::string expected_kind(const std::string& type) {
  const std::string base = type.substr(0, type.find(':'));
  if (base == "INT") return "an integer";
  if (base == "UINT") return "a non-negative integer";
  if (base == "FLOAT") return "a number";
  if (base.empty() || base == "BOOLEAN") return "true or false";
  return "";
}

bool is_flag(const CLI::Option& option) { return option.get_items_expected_max() == 0; }

std::string quoted_values(const std::vector<std::string>& values) {
  std::string text;
  for (const auto& v : values) text += (text.empty() ? "'" : ", '") + v + "'";
  return text;
}

}  // namespace

Result<ConfigFile> ConfigFile::read(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::not_found("config file " + path + " does not exist (or is not a file)");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::io_error("cannot read config file " + path);
  ConfigFile file;
  file.path_ = path;
  auto at = [&](const YAML::Mark& mark) { return path + ":" + std::to_string(mark.line + 1) + ": "; };
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::ParserException& e) {
    return Status::invalid_argument(at(e.mark) + e.msg + " (not valid YAML)");
  }
  if (root.IsNull()) return file;  // an empty file sets nothing
  if (!root.IsMap()) {
    return Status::invalid_argument(at(root.Mark()) +
                                    "the file must be a mapping of flag names to values (\"batch-size: 128\")");
  }
  std::set<std::string> seen;
  for (const auto& item : root) {
    const YAML::Node& key = item.first;
    const YAML::Node& value = item.second;
    if (!key.IsScalar()) return Status::invalid_argument(at(key.Mark()) + "keys must be flag names");
    Entry entry;
    entry.key = key.Scalar();
    entry.line = key.Mark().line + 1;
    const std::string where = path + ":" + std::to_string(entry.line) + ": ";
    if (!seen.insert(entry.key).second) return Status::invalid_argument(where + entry.key + " is given twice");
    if (value.IsScalar()) {
      entry.values.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& element : value) {
        if (!element.IsScalar()) {
          return Status::invalid_argument(where + entry.key + " must be a value or a list of values");
        }
        entry.values.push_back(element.Scalar());
      }
    } else if (value.IsMap()) {
      return Status::invalid_argument(where + entry.key + " must be a value or a list of values, not a mapping");
    } else {
      return Status::invalid_argument(where + entry.key + " has no value (write \"" + entry.key +
                                      ": VALUE\", or remove the line to keep the default)");
    }
    file.entries_.push_back(std::move(entry));
  }
  return file;
}

Status ConfigFile::apply(CLI::App& cmd, const std::set<std::string>& not_settable) {
  for (const Entry& entry : entries_) {
    const std::string where = path_ + ":" + std::to_string(entry.line) + ": ";
    if (not_settable.count(entry.key)) {
      return Status::invalid_argument(where + entry.key + " cannot be set in a config file (give --" + entry.key +
                                      " on the command line)");
    }
    CLI::Option* option = entry.key.empty() || entry.key[0] == '-' ? nullptr : cmd.get_option_no_throw("--" + entry.key);
    if (option == nullptr) {
      return Status::invalid_argument(where + "unknown key '" + entry.key + "': wattlab " + cmd.get_name() +
                                      " has no --" + entry.key + " (keys are its flags without the dashes; see wattlab " +
                                      cmd.get_name() + " --help)");
    }
    if (option->count() > 0) continue;  // the command line wins
    if (entry.values.size() != 1 && option->get_items_expected_max() <= 1) {
      return Status::invalid_argument(where + entry.key + " takes one value (got a list of " +
                                      std::to_string(entry.values.size()) + ")");
    }
    const std::string type = option->get_type_name();
    auto fail = [&](const std::string& why) {
      return Status::invalid_argument(where + entry.key + " " + why + " (got " + quoted_values(entry.values) + ")");
    };
    // CLI11 reads "-3" as a huge unsigned number; a file must not.
    if (type.rfind("UINT", 0) == 0) {
      for (const auto& v : entry.values) {
        if (v.find('-') != std::string::npos) return fail("must be " + expected_kind(type));
      }
    }
    try {
      option->clear();
      option->add_result(entry.values);
      option->run_callback();
    } catch (const CLI::Error& e) {
      option->clear();
      const std::string kind = is_flag(*option) ? expected_kind("") : expected_kind(type);
      return fail(kind.empty() ? std::string(e.what()) : "must be " + kind);
    }
    for (const std::string& name : option->get_lnames()) applied_["--" + name] = {entry.key, entry.line};
  }
  return Status();
}

Status ConfigFile::locate(const Status& status) const {
  const std::string& message = status.message();
  if (message.rfind("--", 0) != 0) return status;
  const size_t end = message.find_first_of(" :");
  const std::string flag = message.substr(0, end);
  auto it = applied_.find(flag);
  if (it == applied_.end() || status.code() != Status::Code::kInvalidArgument) return status;
  const auto& [key, line] = it->second;
  return Status::invalid_argument(path_ + ":" + std::to_string(line) + ": " + key + message.substr(flag.size()));
}

std::string resolved_config_yaml(const CLI::App& cmd, const std::set<std::string>& left_out) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  for (const CLI::Option* option : cmd.get_options()) {
    if (option->get_lnames().empty()) continue;
    const std::string& key = option->get_lnames().front();
    if (key == "help" || left_out.count(key)) continue;
    std::vector<std::string> values;
    if (option->count() > 0) {
      values = option->results();
      if (is_flag(*option)) values = {option->as<bool>() ? "true" : "false"};
    } else if (is_flag(*option)) {
      values = {"false"};
    } else if (!option->get_default_str().empty()) {
      values = {option->get_default_str()};
    }
    if (values.empty()) continue;
    out << YAML::Key << key << YAML::Value;
    if (option->get_items_expected_max() > 1) {
      out << YAML::Flow << YAML::BeginSeq;
      for (const auto& v : values) out << v;
      out << YAML::EndSeq;
    } else {
      out << values.front();
    }
  }
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace wattlab::cli
