#include "wattlab/study/spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "wattlab/core/ids.h"

namespace wattlab {
namespace {

const std::vector<std::string> kTopLevelKeys = {
    "name",   "experiment", "store",          "dataset",     "train",     "epochs", "early-stopping",
    "budget", "carbon",     "pue",            "models",      "environments", "repetitions", "order",
    "order-seed", "seed",   "idle-baseline",  "warmup",      "cooldown"};
const std::vector<std::string> kEarlyStoppingKeys = {"patience", "min-delta", "start-from-epoch", "monitor"};
const std::vector<std::string> kBudgetKeys = {"energy", "carbon"};
const std::vector<std::string> kSlurmKeys = {"partition", "constraint", "gres", "cpus", "mem", "time"};
const std::vector<std::string> kWarmupKeys = {"duration", "steps", "model"};
const std::vector<std::string> kCooldownKeys = {"duration", "until-idle-within", "max"};

// Train flags a study decides itself.
const std::map<std::string, std::string> kReservedFlags = {
    {"config", "a study's trials take their flags from the spec"},
    {"resume", "a study resumes its own trials"},
    {"experiment", "use the top-level experiment key"},
    {"run-name", "a study names its trials MODEL-ENVIRONMENT-rREPETITION"},
    {"tracking-uri", "use the top-level store key"},
    {"quiet", "a study prints its own progress"},
    {"seed", "use the top-level seed key: repetition r trains with seed + r - 1"},
};

bool valid_name(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-' || c == '.';
  });
}

std::string join(const std::vector<std::string>& words) {
  std::string text;
  for (const auto& w : words) text += (text.empty() ? "" : ", ") + w;
  return text;
}

// Reads one spec, keeping the file name for every message.
class SpecParser {
 public:
  SpecParser(const std::string& path, const TrainFlagChecker& checker) : path_(path), checker_(checker) {
    flags_ = checker.flag_names();
    flag_set_.insert(flags_.begin(), flags_.end());
  }

  Result<StudySpec> parse(const std::string& text) {
    StudySpec spec;
    spec.path = path_;
    spec.text = text;
    spec.hash = content_hash(text);
    YAML::Node root;
    try {
      root = YAML::Load(text);
    } catch (const YAML::ParserException& e) {
      return error(e.mark.line + 1, "", e.msg + " (not valid YAML)");
    }
    if (!root.IsMap()) {
      return error(root.IsNull() ? 1 : line_of(root), "",
                   "a study spec is a mapping with at least name, models and environments (see wattlab study example)");
    }
    std::set<std::string> seen;
    for (const auto& item : root) {
      const std::string key = item.first.Scalar();
      const int line = line_of(item.first);
      if (!seen.insert(key).second) return error(line, key, "is given twice");
      if (std::find(kTopLevelKeys.begin(), kTopLevelKeys.end(), key) == kTopLevelKeys.end()) {
        if (flag_set_.count(key)) {
          return error(line, key,
                       "is a train flag, not a study key: set it under train: (every trial), or in a model or an "
                       "environment");
        }
        return unknown(line, key, "", kTopLevelKeys);
      }
    }
    if (!root["name"]) return error(1, "name", "is missing: every study needs a name ([A-Za-z0-9_.-])");
    WATTLAB_ASSIGN_OR_RETURN(spec.name, name_at(root["name"], "name"));
    spec.experiment = spec.name;
    if (root["experiment"]) {
      WATTLAB_ASSIGN_OR_RETURN(spec.experiment, scalar(root["experiment"], "experiment"));
    }
    if (root["store"]) {
      WATTLAB_ASSIGN_OR_RETURN(spec.store, scalar(root["store"], "store"));
    }

    for (const char* section : {"dataset", "train"}) {
      if (!root[section]) continue;
      const YAML::Node& node = root[section];
      if (!node.IsMap()) return error(line_of(node), section, "must be a mapping of train flags (\"subset: 2000\")");
      for (const auto& item : node) {
        WATTLAB_RETURN_IF_ERROR(add_flag(spec.common, section, item.first, item.second, {}));
      }
    }
    WATTLAB_RETURN_IF_ERROR(top_level_flags(root, spec.common));

    if (!root["models"] || !root["models"].IsSequence() || root["models"].size() == 0) {
      return error(root["models"] ? line_of(root["models"]) : 1, "models",
                   "must be a list of models, each with at least `model:` (e.g. - model: cnn)");
    }
    std::set<std::string> names;
    for (size_t i = 0; i < root["models"].size(); ++i) {
      auto model = parse_model(root["models"][i], "models[" + std::to_string(i) + "]");
      if (!model.ok()) return model.status();
      if (!names.insert(model->name).second) {
        return error(model->line, "models[" + std::to_string(i) + "].name",
                     "'" + model->name + "' names two models; give each its own name");
      }
      spec.models.push_back(std::move(*model));
    }
    if (!root["environments"] || !root["environments"].IsSequence() || root["environments"].size() == 0) {
      return error(root["environments"] ? line_of(root["environments"]) : 1, "environments",
                   "must be a list of training environments, each with a name (e.g. - {name: 1-thread, threads: 1})");
    }
    names.clear();
    for (size_t i = 0; i < root["environments"].size(); ++i) {
      auto environment = parse_environment(root["environments"][i], "environments[" + std::to_string(i) + "]");
      if (!environment.ok()) return environment.status();
      if (!names.insert(environment->name).second) {
        return error(environment->line, "environments[" + std::to_string(i) + "].name",
                     "'" + environment->name + "' names two environments; give each its own name");
      }
      spec.environments.push_back(std::move(*environment));
    }
    // A flag set by a model and by an environment would make the trial's value depend on precedence.
    for (const auto& m : spec.models) {
      for (const auto& e : spec.environments) {
        for (const auto& [flag, setting] : e.settings) {
          auto it = m.settings.find(flag);
          if (it == m.settings.end()) continue;
          return error(setting.line, "environments." + e.name + "." + flag,
                       "is also set by model " + m.name + " (line " + std::to_string(it->second.line) +
                           "); set each flag in models or in environments, not both");
        }
      }
    }

    if (root["repetitions"]) {
      WATTLAB_ASSIGN_OR_RETURN(int64_t n, integer(root["repetitions"], "repetitions", 1, 100000));
      spec.repetitions = static_cast<int>(n);
    }
    if (root["order"]) {
      WATTLAB_ASSIGN_OR_RETURN(std::string order, scalar(root["order"], "order"));
      if (order == "shuffled") {
        spec.order = TrialOrder::kShuffled;
      } else if (order == "grouped") {
        spec.order = TrialOrder::kGrouped;
      } else {
        return error(line_of(root["order"]), "order", "must be shuffled (seeded by order-seed) or grouped (got '" +
                                                          order + "')");
      }
    }
    if (root["order-seed"]) {
      WATTLAB_ASSIGN_OR_RETURN(int64_t s, integer(root["order-seed"], "order-seed", 0, INT64_MAX));
      spec.order_seed = static_cast<uint64_t>(s);
    }
    if (root["seed"]) {
      WATTLAB_ASSIGN_OR_RETURN(int64_t s, integer(root["seed"], "seed", 0, INT64_MAX));
      spec.seed = static_cast<uint64_t>(s);
    }
    if (root["idle-baseline"]) {
      WATTLAB_ASSIGN_OR_RETURN(spec.idle_baseline_s, duration(root["idle-baseline"], "idle-baseline"));
    }
    if (root["warmup"]) {
      auto warmup = parse_warmup(root["warmup"], spec);
      if (!warmup.ok()) return warmup.status();
      spec.warmup = *warmup;
    }
    if (root["cooldown"]) {
      auto cooldown = parse_cooldown(root["cooldown"]);
      if (!cooldown.ok()) return cooldown.status();
      if (cooldown->idle_within && spec.idle_baseline_s <= 0) {
        return error(line_of(root["cooldown"]), "cooldown.until-idle-within",
                     "needs an idle baseline to compare with: add idle-baseline: 30s");
      }
      spec.cooldown = *cooldown;
    }
    return spec;
  }

 private:
  static int line_of(const YAML::Node& node) { return node.Mark().line + 1; }

  Status error(int line, const std::string& key, const std::string& what) const {
    return Status::invalid_argument(path_ + ":" + std::to_string(line) + ": " + (key.empty() ? "" : key + " ") + what);
  }

  Status unknown(int line, const std::string& key, const std::string& where, const std::vector<std::string>& allowed) {
    std::string message = "unknown key '" + key + "'" + (where.empty() ? "" : " in " + where);
    if (std::string near = closest_word(key, allowed); !near.empty()) message += " (did you mean '" + near + "'?)";
    return error(line, "", message + "; allowed: " + join(allowed));
  }

  Result<std::string> scalar(const YAML::Node& node, const std::string& key) const {
    if (!node.IsScalar()) return error(line_of(node), key, "must be a single value");
    return node.Scalar();
  }

  Result<std::string> name_at(const YAML::Node& node, const std::string& key) const {
    WATTLAB_ASSIGN_OR_RETURN(std::string name, scalar(node, key));
    if (!valid_name(name)) {
      return error(line_of(node), key, "must be letters, digits, '_', '-' or '.' (got '" + name + "')");
    }
    return name;
  }

  Result<int64_t> integer(const YAML::Node& node, const std::string& key, int64_t min, int64_t max) const {
    WATTLAB_ASSIGN_OR_RETURN(std::string text, scalar(node, key));
    try {
      size_t used = 0;
      const long long value = std::stoll(text, &used);
      if (used == text.size() && value >= min && value <= max) return static_cast<int64_t>(value);
    } catch (const std::exception&) {
    }
    return error(line_of(node), key,
                 "must be an integer " + (max == INT64_MAX ? "of at least " + std::to_string(min)
                                                           : "from " + std::to_string(min) + " to " + std::to_string(max)) +
                     " (got '" + text + "')");
  }

  Result<double> duration(const YAML::Node& node, const std::string& key) const {
    WATTLAB_ASSIGN_OR_RETURN(std::string text, scalar(node, key));
    auto seconds = parse_duration_s(text);
    if (!seconds.ok()) return error(line_of(node), key, seconds.status().message());
    return *seconds;
  }

  // Checks a train flag and records it in `into`, refusing a second setting within the same scope.
  Status add_flag(SpecSettings& into, const std::string& where, const YAML::Node& key_node, const YAML::Node& value,
                  const std::vector<std::string>& entry_keys) {
    const std::string flag = key_node.Scalar();
    const int line = line_of(key_node);
    const std::string key = where + "." + flag;
    if (auto reserved = kReservedFlags.find(flag); reserved != kReservedFlags.end()) {
      return error(line, key, "cannot be set in a study: " + reserved->second);
    }
    if (!flag_set_.count(flag)) {
      std::vector<std::string> allowed = entry_keys;
      allowed.insert(allowed.end(), flags_.begin(), flags_.end());
      std::string message = "unknown key '" + flag + "' in " + where;
      if (std::string near = closest_word(flag, allowed); !near.empty()) message += " (did you mean '" + near + "'?)";
      return error(line, "", message + "; allowed: " + (entry_keys.empty() ? "" : join(entry_keys) + ", and ") +
                                 "any flag of wattlab train without its dashes (see wattlab train --help)");
    }
    SpecSetting setting;
    setting.line = line;
    if (value.IsScalar()) {
      setting.values.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& v : value) {
        if (!v.IsScalar()) return error(line, key, "must be a value or a list of values");
        setting.values.push_back(v.Scalar());
      }
    } else {
      return error(line, key, "must be a value or a list of values");
    }
    if (Status s = checker_.check(flag, setting.values); !s.ok()) return error(line, key, s.message());
    if (auto it = into.find(flag); it != into.end()) {
      return error(line, key, "is already set on line " + std::to_string(it->second.line));
    }
    into[flag] = std::move(setting);
    return Status();
  }

  // epochs, early-stopping, budget, carbon and pue: top-level names for train flags.
  Status top_level_flags(const YAML::Node& root, SpecSettings& common) {
    for (const char* key : {"epochs", "carbon", "pue"}) {
      if (root[key]) WATTLAB_RETURN_IF_ERROR(add_flag_as(common, key, line_of(root[key]), root[key]));
    }
    if (const YAML::Node& es = root["early-stopping"]) {
      if (es.IsScalar()) {
        WATTLAB_RETURN_IF_ERROR(add_flag_as(common, "early-stopping", line_of(es), es));
      } else if (es.IsMap()) {
        for (const auto& item : es) {
          const std::string key = item.first.Scalar();
          if (std::find(kEarlyStoppingKeys.begin(), kEarlyStoppingKeys.end(), key) == kEarlyStoppingKeys.end()) {
            return unknown(line_of(item.first), key, "early-stopping", kEarlyStoppingKeys);
          }
          WATTLAB_RETURN_IF_ERROR(
              add_flag_as(common, key == "patience" ? "early-stopping" : key, line_of(item.first), item.second));
        }
      } else {
        return error(line_of(es), "early-stopping", "must be a patience (3) or a mapping of " + join(kEarlyStoppingKeys));
      }
    }
    if (const YAML::Node& budget = root["budget"]) {
      if (!budget.IsMap()) return error(line_of(budget), "budget", "must be a mapping: {energy: 50kJ} or {carbon: 10g}");
      for (const auto& item : budget) {
        const std::string key = item.first.Scalar();
        if (std::find(kBudgetKeys.begin(), kBudgetKeys.end(), key) == kBudgetKeys.end()) {
          return unknown(line_of(item.first), key, "budget", kBudgetKeys);
        }
        WATTLAB_RETURN_IF_ERROR(add_flag_as(common, key + "-budget", line_of(item.first), item.second));
      }
    }
    return Status();
  }

  // add_flag for a flag whose spec key differs from the flag's name.
  Status add_flag_as(SpecSettings& into, const std::string& flag, int line, const YAML::Node& value) {
    SpecSetting setting;
    setting.line = line;
    if (!value.IsScalar()) return error(line, flag, "must be a single value");
    setting.values.push_back(value.Scalar());
    if (!flag_set_.count(flag)) return error(line, flag, "is not a flag of this wattlab's train command");
    if (Status s = checker_.check(flag, setting.values); !s.ok()) return error(line, flag, s.message());
    if (auto it = into.find(flag); it != into.end()) {
      return error(line, flag, "is already set on line " + std::to_string(it->second.line));
    }
    into[flag] = std::move(setting);
    return Status();
  }

  Result<SpecModel> parse_model(const YAML::Node& node, const std::string& where) {
    SpecModel model;
    model.line = line_of(node);
    if (!node.IsMap()) return error(model.line, where, "must be a mapping with at least `model:` (- model: cnn)");
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (key == "name") {
        WATTLAB_ASSIGN_OR_RETURN(model.name, name_at(item.second, where + ".name"));
      } else {
        WATTLAB_RETURN_IF_ERROR(add_flag(model.settings, where, item.first, item.second, {"name"}));
      }
    }
    auto it = model.settings.find("model");
    if (it == model.settings.end()) return error(model.line, where, "has no `model:` (the architecture, e.g. cnn)");
    if (model.name.empty()) {
      model.name = it->second.values.front();
      if (auto width = model.settings.find("width-multiplier"); width != model.settings.end()) {
        model.name += "-x" + width->second.values.front();
      }
      if (!valid_name(model.name)) {
        return error(model.line, where, "needs a name: ([A-Za-z0-9_.-]; '" + model.name + "' is not one)");
      }
    }
    return model;
  }

  Result<SpecEnvironment> parse_environment(const YAML::Node& node, const std::string& where) {
    SpecEnvironment environment;
    environment.line = line_of(node);
    if (!node.IsMap()) return error(environment.line, where, "must be a mapping with a name and train flags");
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (key == "name") {
        WATTLAB_ASSIGN_OR_RETURN(environment.name, name_at(item.second, where + ".name"));
      } else if (key == "slurm") {
        WATTLAB_RETURN_IF_ERROR(parse_slurm(item.second, where + ".slurm", environment.slurm));
      } else {
        WATTLAB_RETURN_IF_ERROR(add_flag(environment.settings, where, item.first, item.second, {"name", "slurm"}));
      }
    }
    if (environment.name.empty()) {
      return error(environment.line, where, "has no name: (e.g. name: 2-threads), which labels its trials");
    }
    return environment;
  }

  Status parse_slurm(const YAML::Node& node, const std::string& where, SlurmResources& out) {
    if (!node.IsMap()) return error(line_of(node), where, "must be a mapping of " + join(kSlurmKeys));
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const std::string at = where + "." + key;
      if (key == "cpus") {
        WATTLAB_ASSIGN_OR_RETURN(int64_t cpus, integer(item.second, at, 1, 4096));
        out.cpus = static_cast<int>(cpus);
        continue;
      }
      std::string* field = key == "partition"    ? &out.partition
                           : key == "constraint" ? &out.constraint
                           : key == "gres"       ? &out.gres
                           : key == "mem"        ? &out.mem
                           : key == "time"       ? &out.time
                                                 : nullptr;
      if (field == nullptr) return unknown(line_of(item.first), key, where, kSlurmKeys);
      WATTLAB_ASSIGN_OR_RETURN(*field, scalar(item.second, at));
      // These go into an sbatch script line: nothing that could end it.
      if (field->find_first_of("\n\r'\"\\$`;") != std::string::npos) {
        return error(line_of(item.second), at, "must not contain quotes, newlines, '$', '`', ';' or '\\'");
      }
    }
    return Status();
  }

  Result<WarmupSpec> parse_warmup(const YAML::Node& node, const StudySpec& spec) {
    WarmupSpec warmup;
    if (!node.IsMap()) return error(line_of(node), "warmup", "must be a mapping: {duration: 10min} or {steps: 500}");
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (key == "duration") {
        WATTLAB_ASSIGN_OR_RETURN(warmup.duration_s, duration(item.second, "warmup.duration"));
      } else if (key == "steps") {
        WATTLAB_ASSIGN_OR_RETURN(warmup.steps, integer(item.second, "warmup.steps", 1, INT64_MAX));
      } else if (key == "model") {
        WATTLAB_ASSIGN_OR_RETURN(warmup.model, scalar(item.second, "warmup.model"));
        bool known = false;
        std::vector<std::string> names;
        for (const auto& m : spec.models) {
          known |= m.name == warmup.model;
          names.push_back(m.name);
        }
        if (!known) return error(line_of(item.second), "warmup.model", "must name one of the models: " + join(names));
      } else {
        return unknown(line_of(item.first), key, "warmup", kWarmupKeys);
      }
    }
    if ((warmup.duration_s > 0) == (warmup.steps > 0)) {
      return error(line_of(node), "warmup", "takes either duration (10min) or steps (500), and one of them");
    }
    if (warmup.model.empty()) warmup.model = spec.models.front().name;
    return warmup;
  }

  Result<CooldownSpec> parse_cooldown(const YAML::Node& node) {
    CooldownSpec cooldown;
    if (!node.IsMap()) {
      return error(line_of(node), "cooldown", "must be a mapping: {duration: 5min} or {until-idle-within: 10%, max: 10min}");
    }
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      if (key == "duration") {
        WATTLAB_ASSIGN_OR_RETURN(cooldown.duration_s, duration(item.second, "cooldown.duration"));
      } else if (key == "max") {
        WATTLAB_ASSIGN_OR_RETURN(cooldown.max_s, duration(item.second, "cooldown.max"));
      } else if (key == "until-idle-within") {
        WATTLAB_ASSIGN_OR_RETURN(std::string text, scalar(item.second, "cooldown.until-idle-within"));
        const bool percent = !text.empty() && text.back() == '%';
        double value = NAN;
        try {
          size_t used = 0;
          value = std::stod(percent ? text.substr(0, text.size() - 1) : text, &used);
          if (used != text.size() - (percent ? 1 : 0)) value = NAN;
        } catch (const std::exception&) {
        }
        if (percent) value /= 100;
        if (!(value > 0 && value <= 10)) {
          return error(line_of(item.second), "cooldown.until-idle-within",
                       "must be a percentage above the idle power, e.g. 10% (got '" + text + "')");
        }
        cooldown.idle_within = value;
      } else {
        return unknown(line_of(item.first), key, "cooldown", kCooldownKeys);
      }
    }
    if ((cooldown.duration_s > 0) == cooldown.idle_within.has_value()) {
      return error(line_of(node), "cooldown", "takes either duration (5min) or until-idle-within (10%, with max)");
    }
    return cooldown;
  }

  std::string path_;
  const TrainFlagChecker& checker_;
  std::vector<std::string> flags_;
  std::set<std::string> flag_set_;
};

}  // namespace

Result<double> parse_duration_s(const std::string& text) {
  size_t used = 0;
  double value = NAN;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
  }
  std::string unit = text.substr(std::min(used, text.size()));
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  static const std::map<std::string, double> kUnits = {{"", 1},     {"s", 1},       {"ms", 1e-3}, {"m", 60},
                                                       {"min", 60}, {"h", 3600}};
  auto it = kUnits.find(unit);
  if (used == 0 || it == kUnits.end() || !std::isfinite(value) || value < 0) {
    return Status::invalid_argument("must be a duration such as 30s, 10min, 1h or 250ms (got '" + text + "')");
  }
  return value * it->second;
}

std::string closest_word(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const auto& c : candidates) {
    // Levenshtein distance, one row at a time.
    std::vector<size_t> row(c.size() + 1);
    for (size_t j = 0; j <= c.size(); ++j) row[j] = j;
    for (size_t i = 1; i <= word.size(); ++i) {
      size_t diagonal = row[0];
      row[0] = i;
      for (size_t j = 1; j <= c.size(); ++j) {
        const size_t above = row[j];
        row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (word[i - 1] == c[j - 1] ? 0 : 1)});
        diagonal = above;
      }
    }
    if (row[c.size()] < best_distance) {
      best_distance = row[c.size()];
      best = c;
    }
  }
  return best_distance <= std::max<size_t>(1, word.size() / 3) ? best : "";
}

Result<StudySpec> parse_study_spec(const std::string& path, const std::string& text, const TrainFlagChecker& checker) {
  return SpecParser(path, checker).parse(text);
}

Result<StudySpec> read_study_spec(const std::string& path, const TrainFlagChecker& checker) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::not_found("study spec " + path + " does not exist (or is not a file); `wattlab study example > " +
                             path + "` writes one to start from");
  }
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  if (!in) return Status::io_error("cannot read study spec " + path);
  return parse_study_spec(path, text.str(), checker);
}

}  // namespace wattlab
