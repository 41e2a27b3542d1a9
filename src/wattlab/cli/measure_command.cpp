// `wattlab measure -- CMD ARGS...`: meters any process and records it as a run.
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <nlohmann/json.hpp>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/meter_notes.h"
#include "wattlab/cli/phase_protocol.h"
#include "wattlab/run/power_timeline.h"
#include "wattlab/core/stop_signal.h"
#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"
#include "wattlab/energy/carbon.h"
#include "wattlab/energy/idle_baseline.h"
#include "wattlab/energy/meters.h"
#include "wattlab/energy/monitor.h"
#include "wattlab/energy/attribution.h"
#include "wattlab/energy/process_cpu_share.h"
#include "wattlab/track/client.h"
#include "wattlab/track/environment.h"
#include "wattlab/track/store.h"

extern char** environ;

namespace wattlab::cli {

namespace {

struct MeasureOptions {
  std::vector<std::string> command;
  std::string experiment = "Default";
  std::string run_name;
  MeterOptions meter;
  double interval_ms = 100;
  std::string carbon;       // country, provider:region or g/kWh; empty: world average
  double pue = 1.0;
  double idle_baseline_s = 0;
  std::string phase_file;
  std::string format = "table";
  std::string tracking_uri;  // empty: --store
  bool quiet = false;        // no notes, no summary table
};

// Where argv[0] would be found by posix_spawnp, or NotFound.
Status check_runnable(const std::string& program) {
  auto executable = [](const std::filesystem::path& p) {
    return access(p.c_str(), X_OK) == 0 && !std::filesystem::is_directory(p);
  };
  if (program.find('/') != std::string::npos) {
    if (executable(program)) return Status();
    return Status::not_found("cannot run " + program + ": no such executable file");
  }
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  for (size_t start = 0; start <= dirs.size();) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string dir = dirs.substr(start, end - start);
    if (executable(std::filesystem::path(dir.empty() ? "." : dir) / program)) return Status();
    start = end + 1;
  }
  return Status::not_found("cannot run " + program + ": not found on PATH");
}

// Turns phase lines into energy windows of the run.
class PhaseRecorder {
 public:
  PhaseRecorder(Monitor& monitor, TrackingClient& client) : monitor_(monitor), client_(client) {}

  void feed(const char* data, size_t size) {
    splitter_.feed(data, size);
    std::string line;
    while (splitter_.next_line(&line)) handle(line);
  }
  // Ends every phase still open when the process ended.
  void finish() {
    std::string rest = splitter_.take_rest();
    if (!rest.empty()) handle(rest);
    for (auto& [name, id] : open_) log(monitor_.end_window(id));
    open_.clear();
  }

 private:
  void handle(const std::string& line) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) return;
    auto command = parse_phase_line(line);
    if (!command.ok()) {
      std::fprintf(stderr, "wattlab: ignored %s\n", command.status().message().c_str());
      return;
    }
    if (command->begin) {
      auto id = monitor_.begin_window(command->name);
      if (id.ok()) open_.emplace(command->name, *id);
      return;
    }
    auto it = open_.find(command->name);
    if (it == open_.end()) {
      std::fprintf(stderr, "wattlab: ignored \"end %s\": no such phase is open\n", command->name.c_str());
      return;
    }
    log(monitor_.end_window(it->second));
    open_.erase(it);
  }
  void log(const Result<EnergyWindow>& window) {
    if (window.ok()) client_.log_energy_window(*window);
  }

  Monitor& monitor_;
  TrackingClient& client_;
  LineSplitter splitter_;
  std::multimap<std::string, WindowId> open_;  // phases begun and not ended
};

struct DomainSummary {
  std::string name;
  double energy_j = 0;
  double avg_power_w = 0;
  double peak_power_w = 0;
  bool estimated = false;
  bool counts_in_total = true;
};

int exit_code_of(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 1;
}

int run_measure(const GlobalOptions& global, const MeasureOptions& o) {
  if (o.command.empty()) return report_error("no command to measure — usage: wattlab measure [OPTIONS] -- CMD ARGS...");
  if (o.interval_ms < 1) return report_error("--interval-ms must be at least 1 (got " + format_number(o.interval_ms, 1) + ")");
  auto intensity = o.carbon.empty() ? Result<CarbonIntensity>(world_average_carbon_intensity())
                                    : resolve_carbon_intensity(o.carbon);
  if (!intensity.ok()) return report_error("--carbon: " + intensity.status().message());
  if (auto check = estimate_carbon(0, *intensity, o.pue); !check.ok()) return report_error("--pue: " + check.status().message());
  if (Status s = check_runnable(o.command[0]); !s.ok()) return report_error(s.message());

  Env& env = Env::system();
  MonitorOptions monitor_options;
  monitor_options.interval_ms = o.interval_ms;
  auto opened = open_command_monitor(env, o.meter, o.quiet, monitor_options);
  if (!opened.ok()) return report_error(opened.status().message());
  EnvironmentExtras extras;
  extras.values = opened->assumptions;
  Monitor& monitor = *opened->monitor;
  // Opened once every input is known good, so bad input leaves no store file behind.
  auto destination = open_run_destination(global, o.tracking_uri, o.quiet);
  if (!destination.ok()) return report_error(destination.status().message());

  std::string command_text;
  for (const auto& a : o.command) command_text += (command_text.empty() ? "" : " ") + a;
  std::string run_name = o.run_name.empty() ? std::filesystem::path(o.command[0]).filename().string() : o.run_name;
  auto started = TrackingClient::start_run(destination->logger.get(), o.experiment, run_name,
                                           TrackingClientOptions{.heartbeat_interval_ms = kDefaultHeartbeatIntervalMs});
  if (!started.ok()) return report_error(started.status().message());
  TrackingClient& client = **started;
  bool estimated = false;
  for (const auto& d : monitor.domains()) estimated |= d.estimated;
  client.log_param("command", command_text.substr(0, 6000));
  client.log_param("meter", o.meter.kind);
  if (o.meter.nvml.integrate_power) client.log_param("gpu_energy", "integrated power");
  client.log_param("sample_interval_ms", format_number(o.interval_ms, 1));
  client.log_param("carbon_intensity_g_per_kwh", format_number(intensity->g_per_kwh, 3));
  client.log_param("carbon_source", intensity->source);
  client.log_param("pue", format_number(o.pue, 2));
  client.set_tag("mlflow.runName", run_name);
  client.set_tag("wattlab.energy_estimated", estimated ? "true" : "false");
  client.set_environment(collect_environment(env, extras));

  install_stop_signal_handlers();
  if (Status s = monitor.start(); !s.ok()) {
    client.end_run(RunStatus::kFailed);
    return report_error(s.message());
  }

  std::optional<IdleBaseline> baseline;
  if (o.idle_baseline_s > 0) {
    std::fprintf(stderr, "wattlab: measuring the idle baseline for %.1f s; keep the machine idle\n", o.idle_baseline_s);
    SleepInterrupt interrupt;
    std::atomic<bool> done{false};
    std::thread watcher([&] {
      while (!done && !stop_requested()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!done) interrupt.trigger();
    });
    auto measured = measure_idle_baseline(monitor, env.clock(), o.idle_baseline_s * 1000, &interrupt);
    done = true;
    watcher.join();
    if (!measured.ok()) {
      client.end_run(stop_requested() ? RunStatus::kKilled : RunStatus::kFailed);
      return report_error(measured.status().message());
    }
    baseline = std::move(*measured);
    for (size_t i = 0; i < baseline->domains.size(); ++i)
      client.log_metric("idle_power_" + baseline->domains[i].name + "_w", baseline->power_w[i]);
  }

  // The child writes phase lines to this pipe's write end, which it gets as
  // fd 3 (WATTLAB_PHASE_FD): a shell's `>&$WATTLAB_PHASE_FD` takes one digit
  // only, and the store may hold the low descriptors here.
  constexpr int kChildPhaseFd = 3;
  int phase_pipe[2];
  if (pipe2(phase_pipe, O_CLOEXEC) != 0) return report_error(std::string("pipe: ") + std::strerror(errno));
  // The child's environment: ours, with the run's coordinates. Through a
  // tracking server, MLflow's own variables too, so the child's
  // mlflow.log_metric() calls land in this run.
  std::map<std::string, std::string> run_env = {{"WATTLAB_PHASE_FD", std::to_string(kChildPhaseFd)},
                                                {"WATTLAB_RUN_ID", client.run_id()}};
  if (!destination->server_uri.empty()) {
    run_env["MLFLOW_TRACKING_URI"] = destination->server_uri;
    run_env["MLFLOW_RUN_ID"] = client.run_id();
  }
  std::vector<std::string> child_env;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (!run_env.contains(entry.substr(0, entry.find('=')))) child_env.push_back(entry);
  }
  for (const auto& [name, value] : run_env) child_env.push_back(name + "=" + value);
  std::vector<char*> envp, argv;
  for (auto& e : child_env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = o.command;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  auto cpu_before = read_process_tree_cpu_times(env, getpid());
  auto run_window = monitor.begin_window("run");
  pid_t child = 0;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, phase_pipe[1], kChildPhaseFd);  // the copy is not close-on-exec
  int spawn_error = run_window.ok() ? posix_spawnp(&child, argv[0], &actions, nullptr, argv.data(), envp.data()) : 0;
  posix_spawn_file_actions_destroy(&actions);
  close(phase_pipe[1]);
  if (!run_window.ok() || spawn_error != 0) {
    close(phase_pipe[0]);
    client.end_run(RunStatus::kFailed);
    return report_error(!run_window.ok() ? run_window.status().message()
                                         : "cannot run " + o.command[0] + ": " + std::strerror(spawn_error));
  }
  forward_stop_signals_to(child);

  PhaseRecorder phases(monitor, client);
  PowerTimelineRecorder timeline(monitor, client);
  std::ifstream phase_file;
  auto read_phase_file = [&] {
    if (o.phase_file.empty()) return;
    if (!phase_file.is_open()) {
      phase_file.open(o.phase_file, std::ios::binary);
      if (!phase_file.is_open()) return;
    }
    char buf[4096];
    phase_file.clear();
    while (phase_file.read(buf, sizeof buf) || phase_file.gcount() > 0) phases.feed(buf, static_cast<size_t>(phase_file.gcount()));
  };

  int wait_status = 0;
  bool pipe_open = true;
  double last_drain_ms = env.clock().monotonic_ms();
  for (;;) {
    if (pipe_open) {
      pollfd pfd{phase_pipe[0], POLLIN, 0};
      if (poll(&pfd, 1, 100) > 0) {
        char buf[4096];
        ssize_t n = read(phase_pipe[0], buf, sizeof buf);
        if (n > 0) phases.feed(buf, static_cast<size_t>(n));
        else if (n == 0 || errno != EINTR) pipe_open = false;
      }
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    read_phase_file();
    if (env.clock().monotonic_ms() - last_drain_ms > 1000) {
      timeline.drain();
      last_drain_ms = env.clock().monotonic_ms();
    }
    pid_t done = waitpid(child, &wait_status, WNOHANG);
    if (done == child || (done < 0 && errno != EINTR)) break;
  }
  forward_stop_signals_to(0);
  read_phase_file();
  phases.finish();
  close(phase_pipe[0]);
  auto window = monitor.end_window(*run_window);
  auto cpu_after = read_process_tree_cpu_times(env, getpid());
  monitor.stop();
  timeline.finish();
  int exit_code = exit_code_of(wait_status);

  if (!window.ok()) {
    client.end_run(RunStatus::kFailed);
    report_error(window.status().message());
    return exit_code != 0 ? exit_code : 1;
  }
  client.log_energy_window(*window);
  std::vector<DomainSummary> domains;
  for (size_t i = 0; i < window->domains.size(); ++i) {
    const auto& d = window->domains[i];
    double avg_w = window->duration_s > 0 ? d.energy_j / window->duration_s : 0;
    domains.push_back({d.name, d.energy_j, avg_w, std::max(timeline.peak_w()[i], avg_w), d.estimated, d.counts_in_total});
    client.log_metric("energy_" + d.name + "_j", d.energy_j);
    client.log_metric("avg_power_" + d.name + "_w", avg_w);
    client.log_metric("peak_power_" + d.name + "_w", domains.back().peak_power_w);
  }
  double energy_j = window->energy_j();
  auto carbon = estimate_carbon(energy_j, *intensity, o.pue);
  double co2e_g = carbon.ok() ? carbon->co2e_g : NAN;
  client.log_metric("energy_j", energy_j);
  client.log_metric("energy_kwh", energy_j / 3.6e6);
  client.log_metric("co2e_g", co2e_g);
  client.log_metric("duration_s", window->duration_s);
  client.log_metric("exit_code", exit_code);
  // Attribution: the command's process tree gets the CPU energy in proportion
  // to its share of the machine's CPU time; the machine-wide figures stay.
  std::optional<double> share;
  double cpu_energy_j = 0;
  for (const auto& d : domains) {
    if (domain_kind(d.name) == DomainKind::kCpu && d.counts_in_total) cpu_energy_j += d.energy_j;
  }
  if (cpu_before.ok() && cpu_after.ok()) {
    share = cpu_share(*cpu_before, *cpu_after);
    client.log_metric("cpu_share", *share);
    client.log_metric("cpu_energy_attributed_j", cpu_energy_j * *share);
  }
  RunStatus status = WIFSIGNALED(wait_status) || stop_requested() ? RunStatus::kKilled
                     : exit_code == 0                           ? RunStatus::kFinished
                                                                : RunStatus::kFailed;
  Status ended = client.end_run(status);
  if (!ended.ok()) report_error("run " + client.run_id() + " was not fully saved: " + ended.message());

  if (o.format == "json") {
    auto list = nlohmann::json::array();
    for (const auto& d : domains)
      list.push_back({{"name", d.name}, {"energy_j", d.energy_j}, {"avg_power_w", d.avg_power_w},
                      {"peak_power_w", d.peak_power_w}, {"estimated", d.estimated},
                      {"counts_in_total", d.counts_in_total}});
    nlohmann::json out = {{"run_id", client.run_id()}, {"status", run_status_name(status)},
                          {"duration_s", window->duration_s}, {"energy_j", energy_j},
                          {"energy_kwh", energy_j / 3.6e6}, {"co2e_g", carbon.ok() ? nlohmann::json(co2e_g) : nlohmann::json()},
                          {"carbon_intensity_g_per_kwh", intensity->g_per_kwh}, {"carbon_source", intensity->source},
                          {"pue", o.pue}, {"exit_code", exit_code}, {"estimated", estimated}, {"domains", list}};
    if (share) {
      out["cpu_share"] = *share;
      out["cpu_energy_attributed_j"] = cpu_energy_j * *share;
    }
    std::cout << out.dump() << std::endl;
    return exit_code;
  }
  if (o.quiet) return exit_code;
  std::fprintf(stderr, "\nwattlab: %s exited with %d after %s — run %s %s\n", o.command[0].c_str(), exit_code,
               format_duration_s(window->duration_s).c_str(), client.run_id().c_str(), run_status_name(status));
  TextTable table({"domain", "energy", "avg W", "peak W", "figures"}, {false, true, true, true, false});
  for (const auto& d : domains)
    table.add_row({d.name + (d.counts_in_total ? "" : " (in total above)"), format_energy_j(d.energy_j),
                   format_number(d.avg_power_w, 2), format_number(d.peak_power_w, 2),
                   d.estimated ? "estimated" : "measured"});
  table.add_row({"total", format_energy_j(energy_j), format_number(window->duration_s > 0 ? energy_j / window->duration_s : 0, 2),
                 "", estimated ? "estimated" : "measured"});
  std::ostringstream text;
  table.print(text);
  std::fprintf(stderr, "%s", text.str().c_str());
  std::fprintf(stderr, "%s kWh, %s gCO2e at %.1f gCO2e/kWh (%s), PUE %.2f", format_value(energy_j / 3.6e6).c_str(),
               format_value(co2e_g).c_str(), intensity->g_per_kwh, intensity->source.c_str(), o.pue);
  if (share) {
    std::fprintf(stderr, "\nthe command used %.1f %% of the machine's CPU time: %s of the %s of CPU energy", *share * 100,
                 format_energy_j(cpu_energy_j * *share).c_str(), format_energy_j(cpu_energy_j).c_str());
  }
  std::fprintf(stderr, "\n");
  if (baseline) {
    auto split = split_static_dynamic(*window, *baseline);
    double static_j = 0, dynamic_j = 0;
    for (const auto& s : split) {
      if (!s.counts_in_total) continue;
      static_j += s.static_j;
      dynamic_j += s.dynamic_j;
    }
    std::fprintf(stderr, "idle baseline: %s static, %s dynamic\n", format_energy_j(static_j).c_str(),
                 format_energy_j(dynamic_j).c_str());
  }
  return exit_code;
}

// "10s", "2.5s", "500ms", "1m" → seconds.
bool parse_duration_s(const std::string& text, double* seconds) {
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  std::string unit = end ? end : "";
  if (end == text.c_str() || value < 0 || !std::isfinite(value)) return false;
  if (unit == "s" || unit.empty()) *seconds = value;
  else if (unit == "ms") *seconds = value / 1000;
  else if (unit == "m" || unit == "min") *seconds = value * 60;
  else return false;
  return true;
}

}  // namespace

void add_measure_command(CLI::App& app, const GlobalOptions& global, int* exit_code) {
  auto* cmd = app.add_subcommand("measure", "Meter any command's energy and record it as a run");
  auto o = std::make_shared<MeasureOptions>();
  auto idle = std::make_shared<std::string>();
  cmd->add_option("command", o->command, "The command and its arguments, after --")->required()->take_all();
  cmd->add_option("--experiment", o->experiment, "Experiment the run belongs to")->capture_default_str();
  cmd->add_option("--run-name", o->run_name, "Run name (default: the command's name)");
  cmd->add_option("--meter", o->meter.kind, "Energy source: auto, rapl, nvml or estimate")->capture_default_str();
  cmd->add_option("--cpu-tdp-w", o->meter.estimator.cpu_tdp_w, "CPU TDP in watts for the estimator");
  cmd->add_flag("--gpu-integrate-power", o->meter.nvml.integrate_power,
                "Integrate each GPU's sampled power even where it has an energy counter (to compare the two)");
  cmd->add_option("--interval-ms", o->interval_ms, "Power sampling interval, 1 ms or more")->capture_default_str();
  cmd->add_option("--carbon", o->carbon,
                  "Grid carbon intensity: ISO alpha-3 country (FRA), provider:region (gcp:europe-west1) or "
                  "gCO2e/kWh (default: world average)");
  cmd->add_option("--pue", o->pue, "Data-centre power usage effectiveness, 1.0 or more")->capture_default_str();
  cmd->add_option("--idle-baseline", *idle, "Measure idle power first for this long (10s, 500ms) to split static "
                                            "from dynamic energy");
  cmd->add_option("--phase-file", o->phase_file,
                  "File the command appends phase lines to (\"begin NAME\" / \"end NAME\"); a pipe named by "
                  "WATTLAB_PHASE_FD in its environment takes the same lines");
  cmd->add_option("--format", o->format, "table (on stderr) or json (one object on stdout)")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "No notes and no summary on stderr (errors still are)");
  add_tracking_uri_option(cmd, &o->tracking_uri);
  cmd->footer("The command gets WATTLAB_RUN_ID and WATTLAB_PHASE_FD in its environment (and, with a tracking\n"
              "server, MLFLOW_TRACKING_URI and MLFLOW_RUN_ID, so its own MLflow calls land in the same run).\n"
              "wattlab exits with the command's exit code; SIGTERM, SIGHUP and SIGQUIT sent to wattlab are\n"
              "passed on to the command.\n"
              "Example: wattlab measure --carbon FRA -- python3 train.py --epochs 3");
  cmd->callback([&global, o, idle, exit_code] {
    if (!idle->empty() && !parse_duration_s(*idle, &o->idle_baseline_s)) {
      *exit_code = report_error("--idle-baseline \"" + *idle + "\" is not a duration like 10s or 500ms");
      return;
    }
    *exit_code = run_measure(global, *o);
  });
}

}  // namespace wattlab::cli
