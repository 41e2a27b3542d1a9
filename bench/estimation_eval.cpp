// How well STEP and PRE estimate training energy on the runs of a store
// (bench/estimation_eval.sh makes them with `wattlab train`), beside the
// TDP-based baselines, as MAPE and RMSE:
//
//   STEP   the projection of each run's total energy (energy_j) made right
//          after epoch 2, 3, ... (project_stored_run: what `train` would have
//          logged then)
//   PRE    cross-validated energy per epoch: 5 random folds over the runs
//          (the reference study's protocol; repetitions of a configuration
//          fall on both sides) and one fold per configuration (leave one
//          configuration out: a configuration the model never saw); the
//          total-energy RMSE multiplies by each run's epochs
//   the repetitions' own spread: each run's energy per epoch against the
//          mean of its configuration's other runs: how far the measurements
//          PRE learns from disagree among themselves (on a shared machine,
//          with energy estimated from utilisation, several per cent), the
//          scale against which PRE's error is read; and from the same
//          spread, the lowest MAPE any predictor can expect on these runs
//   Green Algorithms and ML CO2 Impact, given each run's measured duration
//
//   estimation_eval --store runs.db [--experiment NAME] [--folds 5] [--seed 42]
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <numbers>
#include <string>
#include <vector>

#include "wattlab/analysis/energy_baseline.h"
#include "wattlab/analysis/pre.h"
#include "wattlab/analysis/step.h"
#include "wattlab/train/models.h"

using namespace wattlab;

namespace {

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("model name", 0) == 0) return line.substr(line.find(':') + 2);
  }
  return "unknown CPU";
}

std::string cpu_flags() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("flags", 0) == 0) {
      std::string out;
      for (const char* f : {" avx2", " avx512f"}) {
        if (line.find(std::string(f) + " ") != std::string::npos) out += f;
      }
      return out.empty() ? " (no AVX2)" : out;
    }
  }
  return "";
}

void row(const char* method, const char* protocol, const PredictionErrors& e, double rmse_kj, const char* note) {
  std::printf("| %-34s | %-34s | %6zu | %7.1f %% | %9.3f | %s\n", method, protocol, e.count, 100 * e.mape, rmse_kj, note);
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_path, experiment;
  int folds = 5;
  uint64_t seed = 42;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--store")) store_path = argv[i + 1];
    if (!std::strcmp(argv[i], "--experiment")) experiment = argv[i + 1];
    if (!std::strcmp(argv[i], "--folds")) folds = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--seed")) seed = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (store_path.empty()) {
    std::fprintf(stderr, "usage: estimation_eval --store runs.db [--experiment NAME] [--folds 5] [--seed 42]\n");
    return 2;
  }
  auto store = Store::open(store_path);
  if (!store.ok()) {
    std::fprintf(stderr, "%s\n", store.status().message().c_str());
    return 1;
  }
  const ModelCostLookup count_model = [](const PreModelShape& s) -> Result<PreModelCost> {
    auto cost = model_cost(s.model, {s.channels, s.height, s.width, s.num_classes, s.width_multiplier});
    if (!cost.ok()) return cost.status();
    return PreModelCost{cost->parameters, cost->macs_per_image};
  };
  std::map<std::string, PreModelCost> costs;
  auto collection = collect_pre_observations(**store, count_model, &costs);
  if (!collection.ok()) {
    std::fprintf(stderr, "%s\n", collection.status().message().c_str());
    return 1;
  }
  std::vector<PreObservation> observations;
  std::vector<RunData> runs;
  for (auto& o : collection->observations) {
    auto run = (*store)->get_run(o.run_id);
    if (!run.ok()) continue;
    if (!experiment.empty()) {
      auto e = (*store)->get_experiment(run->info.experiment_id);
      if (!e.ok() || e->name != experiment) continue;
    }
    observations.push_back(o);
    runs.push_back(std::move(*run));
  }
  std::printf("CPU: %s%s; %zu finished runs\n\n", cpu_model().c_str(), cpu_flags().c_str(), runs.size());
  if (observations.size() < 6) {
    std::fprintf(stderr, "too few runs to evaluate (%zu)\n", observations.size());
    return 1;
  }
  std::vector<double> total_j, epochs;
  for (size_t i = 0; i < runs.size(); ++i) {
    total_j.push_back(runs[i].latest_metrics.at("energy_j").value);
    epochs.push_back(total_j.back() / observations[i].energy_per_epoch_j);
  }

  std::printf("| %-34s | %-34s | %6s | %9s | %9s | %s\n", "method", "protocol", "runs", "MAPE", "RMSE kJ", "note");
  std::printf("|%s|%s|%s|%s|%s|\n", std::string(36, '-').c_str(), std::string(36, '-').c_str(),
              std::string(8, '-').c_str(), std::string(11, '-').c_str(), std::string(11, '-').c_str());
  // STEP after epoch k, for each k the runs have.
  const int max_epochs = static_cast<int>(*std::max_element(epochs.begin(), epochs.end()) + 0.5);
  for (int k = 2; k < max_epochs; ++k) {
    std::vector<double> actual, projected;
    int stable = 0, fluss = 0;
    for (size_t i = 0; i < runs.size(); ++i) {
      auto timeline = (*store)->get_power_samples(runs[i].info.run_id);
      if (!timeline.ok()) continue;
      auto p = project_stored_run(runs[i], *timeline, k);
      if (!p.ok() || p->total_epochs <= k) continue;
      actual.push_back(total_j[i]);
      projected.push_back(p->energy_j);
      stable += p->stabilisation.stable;
      fluss += p->stabilisation.method == StabilityMethod::kMatrixProfile;
    }
    if (actual.empty()) continue;
    const PredictionErrors e = prediction_errors(actual, projected);
    char protocol[64], note[96];
    std::snprintf(protocol, sizeof protocol, "projection after epoch %d", k);
    std::snprintf(note, sizeof note, "stable in %d of %zu; FLUSS ran in %d", stable, actual.size(), fluss);
    row("STEP", protocol, e, e.rmse / 1000, note);
  }
  // PRE, two ways of holding out.
  std::vector<std::string> run_groups, configuration_groups;
  std::map<std::string, int> configuration_index;
  for (const auto& o : observations) {
    run_groups.push_back(o.run_id);
    const std::string key = o.workload.shape.key() + "|" + std::to_string(o.workload.batch_size) + "|" +
                            std::to_string(o.workload.train_images) + "|" + o.workload.environment.key();
    configuration_groups.push_back(key);
    configuration_index.emplace(key, static_cast<int>(configuration_index.size()));
  }
  struct Protocol {
    const char* name;
    Result<std::vector<int>> folds;
  };
  std::vector<int> one_per_configuration;
  for (const auto& key : configuration_groups) one_per_configuration.push_back(configuration_index.at(key));
  Protocol protocols[] = {
      {"random 5-fold over runs", assign_folds(run_groups, folds, seed)},
      {"leave one configuration out", one_per_configuration},
  };
  for (const auto& protocol : protocols) {
    if (!protocol.folds.ok()) continue;
    auto cv = cross_validate_pre(observations, *protocol.folds);
    if (!cv.ok()) {
      std::fprintf(stderr, "PRE (%s): %s\n", protocol.name, cv.status().message().c_str());
      continue;
    }
    std::vector<double> predicted_total;
    for (size_t i = 0; i < observations.size(); ++i) {
      predicted_total.push_back(cv->predicted_energy_per_epoch_j[i] * epochs[i]);
    }
    const double rmse_total_kj = prediction_errors(total_j, predicted_total).rmse / 1000;
    char note[96];
    std::snprintf(note, sizeof note, "%zu configurations; mean power MAPE %.1f %%", configuration_index.size(),
                  100 * cv->mean_power.mape);
    row("PRE energy per epoch", protocol.name, cv->energy_per_epoch, rmse_total_kj, note);
  }
  // How far the repetitions disagree: each run's energy per epoch predicted
  // by the mean of its configuration's other runs. And what that noise
  // allows: an oracle that knew each configuration's true mean would still
  // miss each run by its noise, an expected MAPE of sqrt(2/pi) x the
  // repetitions' relative standard deviation (pooled over configurations,
  // the noise taken as normal): no predictor can expect to do better.
  double oracle_mape = -1, pooled_sd = 0;
  {
    std::map<std::string, std::vector<size_t>> members;
    for (size_t i = 0; i < observations.size(); ++i) members[configuration_groups[i]].push_back(i);
    std::vector<double> actual, others_mean, actual_total, others_total;
    double squares = 0, degrees = 0;  // relative squared deviations, degrees of freedom
    for (const auto& [key, runs_of_configuration] : members) {
      if (runs_of_configuration.size() < 2) continue;
      double mean = 0;
      for (size_t i : runs_of_configuration) mean += observations[i].energy_per_epoch_j;
      mean /= static_cast<double>(runs_of_configuration.size());
      for (size_t i : runs_of_configuration) {
        squares += std::pow(observations[i].energy_per_epoch_j / mean - 1, 2);
      }
      degrees += static_cast<double>(runs_of_configuration.size() - 1);
      for (size_t i : runs_of_configuration) {
        double sum = 0;
        for (size_t j : runs_of_configuration) sum += j == i ? 0 : observations[j].energy_per_epoch_j;
        actual.push_back(observations[i].energy_per_epoch_j);
        others_mean.push_back(sum / static_cast<double>(runs_of_configuration.size() - 1));
        actual_total.push_back(total_j[i]);
        others_total.push_back(others_mean.back() * epochs[i]);
      }
    }
    if (!actual.empty()) {
      const PredictionErrors floor = prediction_errors(actual, others_mean);
      row("Repetitions' own spread", "mean of the other repetitions", floor,
          prediction_errors(actual_total, others_total).rmse / 1000,
          "energy per epoch: the measurements' own noise");
      pooled_sd = std::sqrt(squares / degrees);
      oracle_mape = std::sqrt(2 / std::numbers::pi) * pooled_sd;
    }
  }
  // The TDP-based baselines with each run's measured duration.
  std::vector<double> green, ml_co2;
  for (size_t i = 0; i < runs.size(); ++i) {
    const double duration_s = runs[i].latest_metrics.at("duration_s").value;
    green.push_back(green_algorithms_power_w(observations[i].workload.environment) * duration_s);
    ml_co2.push_back(ml_co2_impact_power_w(observations[i].workload.environment) * duration_s);
  }
  const PredictionErrors g = prediction_errors(total_j, green), m = prediction_errors(total_j, ml_co2);
  row("Green Algorithms (TDP, RAM)", "measured duration", g, g.rmse / 1000, "total energy");
  row("ML CO2 Impact (TDP)", "measured duration", m, m.rmse / 1000, "total energy");
  if (oracle_mape >= 0) {
    std::printf("\nThe lowest MAPE on energy per epoch any predictor can expect on these runs: %.1f %% (an oracle "
                "knowing each configuration's true mean; the repetitions' pooled relative standard deviation is "
                "%.1f %%).\n",
                100 * oracle_mape, 100 * pooled_sd);
  }
  std::printf("\nMAPE of STEP and the baselines: on each run's total energy_j; of PRE: on energy per epoch "
              "(RMSE column: total energy, per-epoch prediction x epochs).\n");
  return 0;
}
