#include "wattlab/cli/trial_options.h"

#include "wattlab/train/trainer.h"

namespace wattlab::cli {

namespace {

// A fresh `train` option set, parsed from an empty command line.
ParsedTrainOptions fresh_train_options() {
  ParsedTrainOptions parsed;
  parsed.app = std::make_unique<CLI::App>("train", "train");
  parsed.options = std::make_unique<TrainCommandOptions>();
  add_train_options(parsed.app.get(), *parsed.options);
  std::vector<std::string> no_arguments;
  parsed.app->parse(no_arguments);
  return parsed;
}

ConfigFile as_config(const std::string& path, const SpecSettings& settings) {
  std::vector<ConfigFile::Entry> entries;
  for (const auto& [flag, setting] : settings) entries.push_back({flag, setting.values, setting.line});
  return ConfigFile(path, std::move(entries));
}

}  // namespace

Result<ParsedTrainOptions> train_options_from_settings(const std::string& spec_path, const SpecSettings& settings) {
  ParsedTrainOptions parsed = fresh_train_options();
  ConfigFile config = as_config(spec_path, settings);
  WATTLAB_RETURN_IF_ERROR(config.apply(*parsed.app, kNotSettable));
  TrainCommandOptions& o = *parsed.options;
  if (Status s = validate(o.run.train); !s.ok()) return config.locate(s);
  if (Status s = resolve_budget(o); !s.ok()) return config.locate(s);
  o.run.config_yaml = resolved_config_yaml(*parsed.app, kNotStored);
  return parsed;
}

TrainCommandFlags::TrainCommandFlags() {
  ParsedTrainOptions parsed = fresh_train_options();
  for (const CLI::Option* option : parsed.app->get_options()) {
    if (!option->get_lnames().empty() && option->get_lnames().front() != "help") {
      names_.push_back(option->get_lnames().front());
    }
  }
}

Status TrainCommandFlags::check(const std::string& name, const std::vector<std::string>& values) const {
  ParsedTrainOptions parsed = fresh_train_options();
  ConfigFile config("", {{name, values, 0}});
  Status s = config.apply(*parsed.app, {});
  if (s.ok()) return s;
  // apply() says "PATH:LINE: FLAG what"; the spec parser adds its own location and key.
  const std::string prefix = ":0: " + name + " ";
  const size_t at = s.message().find(prefix);
  return Status::invalid_argument(at == std::string::npos ? s.message() : s.message().substr(at + prefix.size()));
}

}  // namespace wattlab::cli
