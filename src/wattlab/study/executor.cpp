#include "wattlab/study/executor.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace wattlab {
namespace {

// What one machine remembers between trials: its idle power, whether it
// warmed up, when its last trial ended. Kept in a file (locked while read and
// written) when several processes share the machine, else in memory.
class NodeState {
 public:
  explicit NodeState(std::string path) : path_(std::move(path)) {}
  ~NodeState() { unlock(); }

  // Holds the file's lock (when there is a file) until unlock(): one process
  // at a time measures the idle power or warms the machine up.
  Status lock_and_load() {
    if (path_.empty()) return Status();
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) return Status::io_error("cannot open the node state file " + path_);
    if (::flock(fd_, LOCK_EX) != 0) return Status::io_error("cannot lock " + path_);
    std::ifstream in(path_);
    std::stringstream text;
    text << in.rdbuf();
    auto json = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
    // A file from another wattlab, or torn: what cannot be read is taken as not known yet.
    if (json.is_object()) {
      if (auto it = json.find("idle_power_w"); it != json.end() && it->is_number()) idle_power_w = it->get<double>();
      if (auto it = json.find("warmed_up"); it != json.end() && it->is_boolean()) warmed_up = it->get<bool>();
      if (auto it = json.find("last_trial_end_ms"); it != json.end() && it->is_number_integer()) {
        last_trial_end_ms = it->get<int64_t>();
      }
    }
    return Status();
  }

  Status save_and_unlock() {
    if (path_.empty()) return Status();
    nlohmann::json json = {{"idle_power_w", std::isfinite(idle_power_w) ? nlohmann::json(idle_power_w) : nlohmann::json()},
                           {"warmed_up", warmed_up},
                           {"last_trial_end_ms", last_trial_end_ms}};
    const std::string text = json.dump() + "\n";
    Status written;
    if (::ftruncate(fd_, 0) != 0 || ::pwrite(fd_, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
      written = Status::io_error("cannot write the node state file " + path_);
    }
    unlock();
    return written;
  }

  double idle_power_w = NAN;
  bool warmed_up = false;
  int64_t last_trial_end_ms = 0;

 private:
  void unlock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the flock
    fd_ = -1;
  }
  std::string path_;
  int fd_ = -1;
};

std::string format_seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.0f s", s);
  return buf;
}

class Executor {
 public:
  Executor(Store& store, const StudySpec& spec, StudyBackend& backend, const StudyRunOptions& options,
           StudyListener* listener)
      : store_(store), spec_(spec), backend_(backend), options_(options), listener_(listener ? *listener : silent_),
        node_(options.node_state_path) {}

  Result<StudyRunResult> run() {
    trials_ = expand_trials(spec_);
    if (options_.index && (*options_.index < 0 || *options_.index >= static_cast<int>(trials_.size()))) {
      return Status::invalid_argument("--index " + std::to_string(*options_.index) + " is out of range: study " +
                                      spec_.name + " has trials 0 to " + std::to_string(trials_.size() - 1));
    }
    // One trial (a Slurm task) reads only its own runs: its cost does not grow with the study.
    if (options_.index) only_key_ = trials_[*options_.index].key;
    auto state = load_study_state(store_, spec_, trials_, backend_.now_ms(), options_.stale_after_ms, true, only_key_);
    if (!state.ok()) return state.status();
    for (const RunInfo& lost : state->ended_stale) {
      listener_.on_note("run " + lost.run_id + " (" + lost.run_name + ") had stopped sending heartbeats: marked KILLED");
    }
    WATTLAB_RETURN_IF_ERROR(check_spec_compatible(spec_, *state));
    WATTLAB_RETURN_IF_ERROR(record_study(store_, spec_).status());

    std::vector<const TrialRecord*> todo;
    for (const TrialRecord& r : state->trials) {
      if (options_.index && r.trial->index != *options_.index) continue;
      if (r.state == TrialState::kFinished) continue;
      if (r.state == TrialState::kRunning) {
        listener_.on_note("trial " + r.trial->key + " is running elsewhere (run " + r.run->info.run_id +
                          ", heartbeat recent): skipped");
        continue;
      }
      todo.push_back(&r);
    }
    StudyRunResult result;
    if (todo.empty()) {
      result.summary = summarize(*state);
      return result;
    }
    WATTLAB_RETURN_IF_ERROR(prepare_machine());
    if (backend_.stop_requested()) return interrupted(result);

    // Known trial durations for the study's ETA: finished ones, then this invocation's.
    double known_s = 0;
    int known = 0;
    for (const TrialRecord& r : state->trials) {
      if (r.state != TrialState::kFinished || !r.run) continue;
      auto it = r.run->latest_metrics.find("duration_s");
      if (it != r.run->latest_metrics.end() && std::isfinite(it->second.value)) {
        known_s += it->second.value;
        ++known;
      }
    }
    for (size_t i = 0; i < todo.size(); ++i) {
      const TrialRecord& record = *todo[i];
      WATTLAB_RETURN_IF_ERROR(cool_down());
      if (backend_.stop_requested()) return interrupted(result);

      TrialProgress progress;
      progress.trial = record.trial;
      progress.position = static_cast<int>(i) + 1;
      progress.count = static_cast<int>(todo.size());
      progress.study_total = static_cast<int>(trials_.size());
      if (known > 0) progress.eta_s = known_s / known * static_cast<double>(todo.size() - i);

      auto request = trial_request(record);
      if (!request.ok()) return request.status();
      progress.resumed = request->resume.has_value();
      listener_.on_trial_start(progress);
      auto outcome = backend_.train(*request);
      if (!outcome.ok()) {
        // The run could not even start (bad settings, unreadable data): every later trial would fail alike.
        return outcome.status().with_context("trial " + record.trial->key);
      }
      ++result.ran;
      listener_.on_trial_end(progress, *outcome);
      WATTLAB_RETURN_IF_ERROR(trial_ended());
      if (outcome->status == RunStatus::kFinished) {
        ++result.finished;
        known_s += outcome->duration_s;
        ++known;
      } else if (outcome->status == RunStatus::kKilled) {
        return interrupted(result);
      } else {
        ++result.failed;
      }
    }
    return finish(result);
  }

 private:
  Result<StudyRunResult> interrupted(StudyRunResult& result) {
    result.interrupted = true;
    return finish(result);
  }

  Result<StudyRunResult> finish(StudyRunResult& result) {
    auto state = load_study_state(store_, spec_, trials_, backend_.now_ms(), options_.stale_after_ms, false, only_key_);
    if (!state.ok()) return state.status();
    result.summary = summarize(*state);
    return result;
  }

  std::map<std::string, std::string> role_tags(const char* role) const {
    return {{kStudyTag, spec_.name}, {kStudyRoleTag, role}, {kStudySpecHashTag, spec_.hash}};
  }

  // The idle baseline and the warm-up, once per machine, then the cool-down after the warm-up.
  Status prepare_machine() {
    WATTLAB_RETURN_IF_ERROR(node_.lock_and_load());
    Status status;
    if (spec_.idle_baseline_s > 0 && !std::isfinite(node_.idle_power_w)) {
      listener_.on_note("measuring the idle machine for " + format_seconds(spec_.idle_baseline_s));
      auto idle = backend_.idle_baseline(spec_.experiment, spec_.idle_baseline_s, role_tags(kRoleIdleBaseline));
      if (!idle.ok()) return idle.status().with_context("idle baseline");
      node_.idle_power_w = *idle;
    }
    if (spec_.warmup && !node_.warmed_up && !backend_.stop_requested()) {
      const WarmupSpec& w = *spec_.warmup;
      const SpecModel* model = nullptr;
      for (const auto& m : spec_.models) {
        if (m.name == w.model) model = &m;
      }
      TrainRequest request;
      request.experiment = spec_.experiment;
      request.run_name = "warmup-" + w.model;
      request.settings = trial_settings(spec_, *model, spec_.environments.front(), spec_.seed);
      request.tags = role_tags(kRoleWarmup);
      request.max_duration_s = w.duration_s;
      request.max_steps = w.steps;
      request.label = "warm-up " + w.model;
      listener_.on_note("warming up with " + w.model + " for " +
                        (w.steps > 0 ? std::to_string(w.steps) + " steps" : format_seconds(w.duration_s)));
      auto outcome = backend_.train(request);
      if (!outcome.ok()) return outcome.status().with_context("warm-up");
      node_.warmed_up = outcome->status == RunStatus::kFinished;
      node_.last_trial_end_ms = backend_.now_ms();
    }
    return node_.save_and_unlock();
  }

  // Waits as spec.cooldown says since this machine's last training ended.
  Status cool_down() {
    if (!spec_.cooldown) return Status();
    WATTLAB_RETURN_IF_ERROR(node_.lock_and_load());
    const int64_t last_end_ms = node_.last_trial_end_ms;
    const double idle_w = node_.idle_power_w;
    WATTLAB_RETURN_IF_ERROR(node_.save_and_unlock());
    if (last_end_ms == 0) return Status();  // nothing ran here yet
    const CooldownSpec& c = *spec_.cooldown;
    const double since_s = static_cast<double>(backend_.now_ms() - last_end_ms) / 1000.0;
    if (!c.idle_within) {
      if (since_s < c.duration_s) {
        listener_.on_note("cooling down for " + format_seconds(c.duration_s - since_s));
        backend_.wait_s(c.duration_s - since_s);
      }
      return Status();
    }
    const double limit_w = idle_w * (1.0 + *c.idle_within);
    const int64_t start_ms = backend_.now_ms();
    double waited_s = since_s;
    for (;;) {
      auto power = backend_.power_w(2.0);
      if (!power.ok()) return power.status().with_context("cool-down");
      waited_s = since_s + static_cast<double>(backend_.now_ms() - start_ms) / 1000.0;
      if (*power <= limit_w) return Status();
      if (waited_s >= c.max_s || backend_.stop_requested()) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "cool-down cap of %s reached at %.1f W (idle %.1f W, goal %.1f W); going on",
                      format_seconds(c.max_s).c_str(), *power, idle_w, limit_w);
        listener_.on_note(buf);
        return Status();
      }
    }
  }

  Status trial_ended() {
    if (!spec_.cooldown) return Status();
    WATTLAB_RETURN_IF_ERROR(node_.lock_and_load());
    node_.last_trial_end_ms = backend_.now_ms();
    return node_.save_and_unlock();
  }

  Result<TrainRequest> trial_request(const TrialRecord& record) {
    const Trial& t = *record.trial;
    TrainRequest request;
    request.experiment = spec_.experiment;
    request.run_name = t.model + "-" + t.environment + "-r" + std::to_string(t.repetition);
    request.settings = t.settings();
    request.tags = trial_tags(spec_, t);
    request.files = {{"spec.yaml", spec_.text}};
    char label[160];
    std::snprintf(label, sizeof label, "[trial %d/%zu] %s %s r%d", t.index + 1, trials_.size(), t.model.c_str(),
                  t.environment.c_str(), t.repetition);
    request.label = label;
    if (record.run) {
      if (backend_.has_checkpoint(*record.run)) {
        request.resume = *record.run;
      } else {
        // Nothing to continue from: this attempt stays in the store, but no longer as the trial.
        WATTLAB_RETURN_IF_ERROR(store_.log_batch(record.run->info.run_id, {}, {}, {{kStudyRoleTag, kRoleSuperseded}}));
      }
    }
    return request;
  }

  Store& store_;
  const StudySpec& spec_;
  StudyBackend& backend_;
  const StudyRunOptions& options_;
  StudyListener silent_;
  StudyListener& listener_;
  NodeState node_;
  std::vector<Trial> trials_;
  std::string only_key_;  // with options.index: that trial's key; the state read is its alone
};

}  // namespace

Status check_spec_compatible(const StudySpec& spec, const StudyState& state) {
  auto changes = incompatible_changes(state);
  if (changes.empty()) return Status();
  std::string message = spec.path + ": this spec changes " + std::to_string(changes.size()) +
                        " finished trial(s) of study " + spec.name + ":";
  const size_t shown = std::min<size_t>(changes.size(), 10);
  for (size_t i = 0; i < shown; ++i) message += "\n  " + changes[i];
  if (shown < changes.size()) message += "\n  ... and " + std::to_string(changes.size() - shown) + " more";
  message += "\nfinished trials must keep their settings (adding models, environments or repetitions is fine); "
             "to run the changed settings, give the study a new name";
  return Status::invalid_argument(message);
}

Result<StudyRunResult> run_study(Store& store, const StudySpec& spec, StudyBackend& backend,
                                 const StudyRunOptions& options, StudyListener* listener) {
  return Executor(store, spec, backend, options, listener).run();
}

}  // namespace wattlab
