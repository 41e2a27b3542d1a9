#include "wattlab/analysis/synthetic_runs.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "wattlab/analysis/study_data.h"

namespace wattlab {

using namespace study_tags;

namespace {

constexpr int64_t kStartMs = 1767225600000;  // 2026-01-01T00:00:00Z
constexpr int64_t kTrainImages = 2000;
constexpr int kEpochs = 2;

struct Trial {
  size_t model, environment;
  int repetition;
  bool fails;
};

}  // namespace

SyntheticStudy default_synthetic_study() {
  SyntheticStudy s;
  s.models = {{"cnn", 0.010, 0.842, 900},
              {"mobilenet_v2-x0.35", 0.016, 0.861, 520},
              {"resnet18", 0.068, 0.874, 140}};
  s.environments = {{"1-thread", 1, 1.0, 1.0}, {"2-threads", 2, 0.92, 0.62}};
  s.interaction = {{{"resnet18", "2-threads"}, 0.78}};
  return s;
}

Result<std::vector<std::string>> write_synthetic_study(RunLogger& logger, const SyntheticStudy& study) {
  auto experiment = logger.get_or_create_experiment(study.experiment.empty() ? study.name : study.experiment);
  if (!experiment.ok()) return experiment.status();
  std::mt19937_64 rng(study.seed);
  std::normal_distribution<double> standard_normal(0.0, 1.0);
  std::vector<Trial> trials;
  for (int rep = 1; rep <= study.repetitions; ++rep)
    for (size_t m = 0; m < study.models.size(); ++m)
      for (size_t e = 0; e < study.environments.size(); ++e) trials.push_back({m, e, rep, false});
  for (int f = 0; f < study.failed_trials && !study.models.empty() && !study.environments.empty(); ++f)
    trials.push_back({0, 0, study.repetitions + 1 + f, true});
  std::shuffle(trials.begin(), trials.end(), rng);

  std::vector<std::string> observations;
  int64_t clock_ms = kStartMs;
  auto write_run = [&](const std::string& run_name, const std::vector<RunTag>& extra_tags, const Trial& t,
                       bool observation) -> Status {
    const auto& m = study.models[t.model];
    const auto& e = study.environments[t.environment];
    auto interaction = study.interaction.find({m.label, e.label});
    const double factor = interaction == study.interaction.end() ? 1.0 : interaction->second;
    const double per_image = m.energy_per_image_j * e.energy_factor * factor *
                             std::exp(study.energy_noise * standard_normal(rng));
    const double duration_s = static_cast<double>(kTrainImages * kEpochs) / m.images_per_s * e.time_factor *
                              std::exp(0.03 * standard_normal(rng));
    const double f1 = std::clamp(m.f1 + study.f1_noise * standard_normal(rng), 0.0, 1.0);
    const double energy_j = per_image * static_cast<double>(kTrainImages * kEpochs);
    auto run = logger.create_run(*experiment, run_name, clock_ms);
    if (!run.ok()) return run.status();
    const int64_t end_ms = clock_ms + static_cast<int64_t>(duration_s * 1000);
    std::vector<Metric> metrics = {{"accuracy", f1 + 0.01, end_ms, kEpochs},
                                   {"f1_macro", f1, end_ms, kEpochs},
                                   {"energy_j", energy_j, end_ms, 0},
                                   {"duration_s", duration_s, end_ms, 0},
                                   {"energy_per_image_j", per_image, end_ms, 0}};
    std::vector<Param> params = {{"model", m.label},
                                 {"threads", std::to_string(e.threads)},
                                 {"batch_size", "64"},
                                 {"device", "cpu"},
                                 {"epochs", std::to_string(kEpochs)},
                                 {"train_images", std::to_string(kTrainImages)},
                                 {"seed", std::to_string(t.repetition)},
                                 {"meter", study.energy_estimated ? "estimate" : "rapl"}};
    std::vector<RunTag> tags = extra_tags;
    tags.push_back({"wattlab.energy_estimated", study.energy_estimated ? "true" : "false"});
    WATTLAB_RETURN_IF_ERROR(logger.log_batch(run->run_id, metrics, params, tags));
    EnergyWindow window{"run", clock_ms, end_ms, duration_s,
                        {{study.energy_estimated ? "cpu-estimated" : "package-0", energy_j, study.energy_estimated,
                          true}}};
    WATTLAB_RETURN_IF_ERROR(logger.log_energy_windows(run->run_id, {window}));
    WATTLAB_RETURN_IF_ERROR(logger.set_environment(
        run->run_id, {{"cpu_model", "AMD EPYC 9B14 96-Core Processor"},
                      {"cpu_count", "2"},
                      {"ram_gib", "23.4"},
                      {"hostname", "bench-node-1"},
                      {"os", "Debian GNU/Linux 12 (bookworm) (kernel 6.1.0-28-amd64)"},
                      {"threads", std::to_string(e.threads)},
                      {"device", "cpu"},
                      {"libtorch_version", "1.13.1"},
                      {"energy_domains", study.energy_estimated ? "cpu-estimated" : "package-0"},
                      {"seed", std::to_string(t.repetition)}}));
    WATTLAB_RETURN_IF_ERROR(
        logger.update_run(run->run_id, t.fails ? RunStatus::kFailed : RunStatus::kFinished, end_ms));
    clock_ms = end_ms + 1000;
    if (observation) observations.push_back(run->run_id);
    return Status::ok_status();
  };
  auto study_tags = [&](const std::string& role, const Trial& t, int index) -> std::vector<RunTag> {
    return {{kStudyTag, study.name},
            {kStudyRoleTag, role},
            {kStudyTrialTag, std::to_string(index)},
            {kStudyModelTag, study.models[t.model].label},
            {kStudyEnvironmentTag, study.environments[t.environment].label},
            {kStudyRepetitionTag, std::to_string(t.repetition)},
            {kStudySpecHashTag, "00c0ffee12345678"}};
  };
  if (study.with_warmup && !trials.empty()) {
    WATTLAB_RETURN_IF_ERROR(write_run(study.name + "-warmup", study_tags("warmup", trials[0], -1), trials[0], false));
  }
  for (size_t i = 0; i < trials.size(); ++i) {
    const Trial& t = trials[i];
    const std::string name = study.models[t.model].label + "-" + study.environments[t.environment].label + "-rep" +
                             std::to_string(t.repetition);
    WATTLAB_RETURN_IF_ERROR(write_run(name, study_tags("trial", t, static_cast<int>(i)), t, !t.fails));
  }
  return observations;
}

Result<std::vector<std::string>> write_metric_runs(RunLogger& logger, const std::string& experiment,
                                                   const std::map<std::string, std::string>& tags,
                                                   const std::string& metric, const std::vector<double>& values) {
  auto experiment_id = logger.get_or_create_experiment(experiment);
  if (!experiment_id.ok()) return experiment_id.status();
  std::vector<RunTag> run_tags;
  for (const auto& [k, v] : tags) run_tags.push_back({k, v});
  std::vector<std::string> ids;
  int64_t clock_ms = kStartMs;
  for (double value : values) {
    auto run = logger.create_run(*experiment_id, "run-" + std::to_string(ids.size() + 1), clock_ms);
    if (!run.ok()) return run.status();
    WATTLAB_RETURN_IF_ERROR(logger.log_batch(run->run_id, {{metric, value, clock_ms + 1000, 0}}, {}, run_tags));
    WATTLAB_RETURN_IF_ERROR(logger.update_run(run->run_id, RunStatus::kFinished, clock_ms + 1000));
    ids.push_back(run->run_id);
    clock_ms += 2000;
  }
  return ids;
}

}  // namespace wattlab
