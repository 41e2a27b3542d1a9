#include "wattlab/track/run_lease.h"

#include <unistd.h>

#include <map>
#include <sstream>

#include "wattlab/track/client.h"
#include "wattlab/track/stale_runs.h"

namespace wattlab {
namespace {

// The state letter and start time (field 22, clock ticks after boot) of
// process `pid`; false when it does not exist or its stat cannot be parsed.
bool read_process_start(Env& env, const std::string& pid, char* state, std::string* start_ticks) {
  auto stat = Env::read_file(env.proc_path(pid + "/stat"));
  if (!stat.ok()) return false;
  const size_t paren = stat->rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return false;
  std::istringstream fields(stat->substr(paren + 1));
  std::string field;
  for (int i = 3; i <= 22 && fields >> field; ++i) {
    if (i == 3) *state = field.empty() ? '?' : field[0];
    if (i == 22) {
      *start_ticks = field;
      return true;
    }
  }
  return false;
}

std::string boot_id(Env& env) {
  auto id = Env::read_file(env.proc_path("sys/kernel/random/boot_id"));
  if (!id.ok()) return "";
  std::string text = *id;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// "pid=1 host=h boot=b start=s" as a map; fields without a value are left out.
std::map<std::string, std::string> parse_holder(const std::string& holder) {
  std::map<std::string, std::string> fields;
  std::istringstream in(holder);
  std::string word;
  while (in >> word) {
    const size_t eq = word.find('=');
    if (eq != std::string::npos && eq + 1 < word.size()) fields[word.substr(0, eq)] = word.substr(eq + 1);
  }
  return fields;
}

// True when `holder` was a process of this machine that is gone now.
bool holder_is_gone_here(Env& env, const std::string& holder) {
  auto fields = parse_holder(holder);
  const std::string boot = boot_id(env);
  if (!fields.count("pid") || !fields.count("start") || boot.empty() || fields["host"] != host_name() ||
      fields["boot"] != boot) {
    return false;
  }
  char state = '?';
  std::string start;
  if (!read_process_start(env, fields["pid"], &state, &start)) return true;  // no such process
  return state == 'Z' || state == 'X' || start != fields["start"];          // dead, or the pid was reused
}

}  // namespace

std::string lease_holder(Env& env, int pid) {
  char state = '?';
  std::string start;
  read_process_start(env, std::to_string(pid), &state, &start);
  return "pid=" + std::to_string(pid) + " host=" + host_name() + " boot=" + boot_id(env) + " start=" + start;
}

Status check_run_lease_free(Env& env, const RunData& run, int64_t now_ms, int64_t stale_after_ms) {
  if (run.info.status != RunStatus::kRunning || is_stale(run, now_ms, stale_after_ms)) return Status();
  auto it = run.tags.find(kLeaseTag);
  const std::string holder = it == run.tags.end() ? "" : it->second;
  if (!holder.empty() && holder_is_gone_here(env, holder)) return Status();

  auto fields = parse_holder(holder);
  const std::string who = fields.count("pid") ? "process " + fields["pid"] + " on " + fields["host"]
                                              : "another process (no wattlab lease recorded)";
  const auto beat = last_heartbeat_ms(run);
  std::string when = "it has sent no heartbeat yet";
  std::string retry;
  if (beat) {
    const int64_t age_s = (now_ms - *beat) / 1000;
    const int64_t stale_in_s = (*beat + stale_after_ms - now_ms) / 1000 + 1;
    when = "its last heartbeat was " + std::to_string(age_s) + " s ago";
    retry = ", or, if that process is gone, retry in " + std::to_string(stale_in_s) +
            " s, when its heartbeat will be stale";
  }
  return Status::already_exists("run " + run.info.run_id + " is being trained by " + who + " (" + when +
                                "); one run takes one trainer at a time — wait for it to end or stop it" + retry);
}

Status take_run_lease(Store& store, const RunData& run, const std::string& holder, int64_t now_ms) {
  auto it = run.tags.find(kLeaseTag);
  const std::optional<std::string> expected =
      it == run.tags.end() ? std::nullopt : std::optional<std::string>(it->second);
  Status claimed =
      store.claim_run(run.info.run_id, kLeaseTag, expected, {{kLeaseTag, holder}, {kHeartbeatTag, std::to_string(now_ms)}});
  if (claimed.code() == Status::Code::kAlreadyExists) {
    return Status::already_exists("run " + run.info.run_id +
                                  " was taken by another process a moment ago; one run takes one trainer at a time");
  }
  return claimed;
}

}  // namespace wattlab
