#include "wattlab/cli/study_backend.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "wattlab/cli/table.h"
#include "wattlab/cli/trial_options.h"
#include "wattlab/cli/training_progress.h"
#include "wattlab/core/env.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/run/machine_power.h"
#include "wattlab/run/run_artifacts.h"
#include "wattlab/run/tracked_training.h"

namespace wattlab::cli {

LocalStudyBackend::LocalStudyBackend(Store& store, std::string spec_path, bool show_progress)
    : store_(store), spec_path_(std::move(spec_path)), show_progress_(show_progress) {}

Result<const TrainData*> LocalStudyBackend::data_for(const TrainConfig& c) {
  // Everything load_train_data reads; the seed only shapes a validation split.
  const std::string key = c.dataset + "\n" + c.data_dir + "\n" + std::to_string(c.subset) + "\n" +
                          std::to_string(c.test_subset) + "\n" + std::to_string(c.resize) + "\n" +
                          std::to_string(c.channels) + "\n" + std::to_string(c.val_split) + "\n" +
                          (c.val_split > 0 ? std::to_string(c.seed) : "");
  if (!data_ || key != data_key_) {
    data_.reset();
    auto loaded = load_train_data(c);
    if (!loaded.ok()) return loaded.status();
    data_ = std::make_unique<TrainData>(std::move(*loaded));
    data_key_ = key;
  }
  return data_.get();
}

Result<TrainOutcome> LocalStudyBackend::train(const TrainRequest& request) {
  auto parsed = train_options_from_settings(spec_path_, request.settings);
  if (!parsed.ok()) return parsed.status();
  TrackedTrainingOptions& run = parsed->options->run;
  TrainConfig& c = run.train;
  if (request.max_steps > 0 || request.max_duration_s > 0) {  // a warm-up: little evaluation
    c.test_subset = c.batch_size;
    c.val_split = 0;
  }
  if (request.max_steps > 0) c.subset = request.max_steps * c.batch_size;
  auto data = data_for(c);
  if (!data.ok()) return data.status();
  if (request.max_steps > 0) {
    const int64_t images = (*data)->train.count;
    c.epochs = static_cast<int>((request.max_steps * c.batch_size + images - 1) / std::max<int64_t>(images, 1));
  } else if (request.max_duration_s > 0) {
    c.epochs = 1000000;
    run.max_duration_s = request.max_duration_s;
  }
  if (Status s = validate(c, **data); !s.ok()) return s;
  run.experiment = request.experiment;
  run.run_name = request.run_name;
  run.tags = request.tags;
  // Which Slurm job ran it ("123_4" for task 4 of array 123), for `scancel` and the job's log.
  if (const char* array = std::getenv("SLURM_ARRAY_JOB_ID"); array && std::getenv("SLURM_ARRAY_TASK_ID")) {
    run.tags["wattlab.slurm.job"] = std::string(array) + "_" + std::getenv("SLURM_ARRAY_TASK_ID");
  } else if (const char* job = std::getenv("SLURM_JOB_ID")) {
    run.tags["wattlab.slurm.job"] = job;
  }
  run.files = request.files;
  run.resume = request.resume;
  meter_ = run.meter;

  TerminalTrainingReporter reporter(show_progress_, request.label);
  auto summary = run_tracked_training(store_, run, **data, &reporter);
  if (!summary.ok()) {
    // The run exists and is FAILED; the study goes on with the next trial.
    if (summary.status().code() == Status::Code::kInvalidArgument) return summary.status();
    TrainOutcome failed;
    failed.status = RunStatus::kFailed;
    failed.message = summary.status().message();
    return failed;
  }
  TrainOutcome outcome;
  outcome.run_id = summary->run_id;
  outcome.status = summary->status;
  outcome.energy_j = summary->energy_j;
  outcome.duration_s = summary->duration_s;
  return outcome;
}

bool LocalStudyBackend::has_checkpoint(const RunData& run) {
  auto dir = run_artifact_dir(run.info.artifact_uri, "");
  std::error_code ec;
  return dir.ok() && std::filesystem::exists(std::filesystem::path(*dir) / kCheckpointFile, ec);
}

Result<double> LocalStudyBackend::idle_baseline(const std::string& experiment, double duration_s,
                                                const std::map<std::string, std::string>& tags) {
  return record_idle_baseline(store_, experiment, "idle-baseline", tags, duration_s, meter_);
}

Result<double> LocalStudyBackend::power_w(double window_s) { return measure_power_w(meter_, window_s); }

bool LocalStudyBackend::wait_s(double seconds) {
  Clock& clock = Env::system().clock();
  const double end_ms = clock.monotonic_ms() + seconds * 1000;
  while (!stop_requested()) {
    const double left_ms = end_ms - clock.monotonic_ms();
    if (left_ms <= 0) return true;
    clock.sleep_ms(std::min(left_ms, 200.0));
  }
  return false;
}

bool LocalStudyBackend::stop_requested() { return wattlab::stop_requested(); }

int64_t LocalStudyBackend::now_ms() { return Env::system().clock().wall_ms(); }

void TerminalStudyListener::on_note(const std::string& text) { std::fprintf(stderr, "wattlab: %s\n", text.c_str()); }

void TerminalStudyListener::on_trial_start(const TrialProgress& p) {
  const Trial& t = *p.trial;
  std::string eta = std::isnan(p.eta_s) ? "" : ", about " + format_duration_s(p.eta_s) + " of the study left";
  std::fprintf(stderr, "[%d/%d] trial %d of %d: %s on %s, repetition %d%s%s\n", p.position, p.count, t.index + 1,
               p.study_total, t.model.c_str(), t.environment.c_str(), t.repetition,
               p.resumed ? " (resuming its run)" : "", eta.c_str());
}

void TerminalStudyListener::on_trial_end(const TrialProgress& p, const TrainOutcome& outcome) {
  if (outcome.status == RunStatus::kFailed) {
    std::fprintf(stderr, "      trial %s FAILED: %s\n", p.trial->key.c_str(), outcome.message.c_str());
  } else if (outcome.status == RunStatus::kFinished) {
    std::fprintf(stderr, "      done: %s, %s (run %s)\n", format_duration_s(outcome.duration_s).c_str(),
                 format_energy_j(outcome.energy_j).c_str(), outcome.run_id.c_str());
  }
}

}  // namespace wattlab::cli
