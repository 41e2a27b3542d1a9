#include "wattlab/track/stale_runs.h"

#include <ctime>

#include "wattlab/track/client.h"

namespace wattlab {

std::optional<int64_t> last_heartbeat_ms(const RunData& run) {
  auto it = run.tags.find(kHeartbeatTag);
  if (it == run.tags.end()) return std::nullopt;
  try {
    size_t used = 0;
    const long long ms = std::stoll(it->second, &used);
    if (used == it->second.size()) return static_cast<int64_t>(ms);
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

bool is_stale(const RunData& run, int64_t now_ms, int64_t stale_after_ms) {
  if (run.info.status != RunStatus::kRunning) return false;
  auto beat = last_heartbeat_ms(run);
  return beat && now_ms - *beat > stale_after_ms;
}

Result<RunInfo> end_stale_run(Store& store, const RunData& run) {
  const int64_t seen_ms = last_heartbeat_ms(run).value_or(run.info.start_time_ms);
  const std::time_t seen_s = static_cast<std::time_t>(seen_ms / 1000);
  std::tm utc{};
  gmtime_r(&seen_s, &utc);
  char when[32];
  std::strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", &utc);
  WATTLAB_RETURN_IF_ERROR(store.log_batch(
      run.info.run_id, {}, {},
      {{"wattlab.stop_reason", std::string("lost: its process stopped sending heartbeats; last seen ") + when}}));
  RunUpdate update;
  update.status = RunStatus::kKilled;
  update.end_time_ms = seen_ms;
  return store.update_run_info(run.info.run_id, update);
}

Result<std::vector<RunInfo>> end_stale_runs(Store& store, int64_t now_ms, int64_t stale_after_ms,
                                            const std::optional<std::vector<std::string>>& experiment_ids) {
  // Collected first, then ended: ending them changes what the search pages hold.
  std::vector<RunData> stale;
  SearchRunsOptions search;
  search.experiment_ids = experiment_ids;
  search.filter = "attributes.status = 'RUNNING'";
  search.max_results = kSearchMaxResultsLimit;
  do {
    auto page = store.search_runs(search);
    if (!page.ok()) return page.status();
    for (RunData& run : page->runs) {
      if (is_stale(run, now_ms, stale_after_ms)) stale.push_back(std::move(run));
    }
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  std::vector<RunInfo> ended;
  for (const RunData& run : stale) {
    auto info = end_stale_run(store, run);
    if (!info.ok()) return info.status();
    ended.push_back(*info);
  }
  return ended;
}

}  // namespace wattlab
