// `wattlab runs gc`: ends the runs whose process died without a word.
#include <cstdio>

#include "wattlab/cli/commands.h"
#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"
#include "wattlab/study/spec.h"
#include "wattlab/track/stale_runs.h"
#include "wattlab/track/store.h"

namespace wattlab::cli {

namespace {

struct GcOptions {
  std::string stale_after = "60s";
  bool dry_run = false;
};

int run_gc(const GlobalOptions& global, const GcOptions& o) {
  auto seconds = parse_duration_s(o.stale_after);
  if (!seconds.ok()) return report_error("--stale-after " + seconds.status().message());
  auto store = Store::open(global.store_path);
  if (!store.ok()) return report_error(store.status().message());
  const int64_t now_ms = Env::system().clock().wall_ms();
  const int64_t stale_ms = static_cast<int64_t>(*seconds * 1000);
  std::vector<RunInfo> lost;
  if (o.dry_run) {
    SearchRunsOptions search;
    search.filter = "attributes.status = 'RUNNING'";
    search.max_results = kSearchMaxResultsLimit;
    do {
      auto page = (*store)->search_runs(search);
      if (!page.ok()) return report_error(page.status().message());
      for (const RunData& r : page->runs) {
        if (is_stale(r, now_ms, stale_ms)) lost.push_back(r.info);
      }
      search.page_token = page->next_page_token;
    } while (!search.page_token.empty());
  } else {
    auto ended = end_stale_runs(**store, now_ms, stale_ms, std::nullopt);
    if (!ended.ok()) return report_error(ended.status().message());
    lost = std::move(*ended);
  }
  for (const RunInfo& r : lost) {
    std::printf("%s %s (%s): no heartbeat since %s\n", o.dry_run ? "would end" : "ended KILLED", r.run_id.c_str(),
                r.run_name.c_str(), r.end_time_ms ? format_timestamp_ms(*r.end_time_ms).c_str() : "its start");
  }
  if (lost.empty()) std::printf("no lost runs: every RUNNING run sent a heartbeat within %s\n", o.stale_after.c_str());
  return 0;
}

}  // namespace

void add_runs_gc_command(CLI::App& runs, const GlobalOptions& global, int* exit_code) {
  auto o = std::make_shared<GcOptions>();
  auto* gc = runs.add_subcommand("gc", "End RUNNING runs whose process died without a word (no heartbeat): KILLED, "
                                       "at the time they were last seen");
  gc->add_option("--stale-after", o->stale_after, "How long without a heartbeat makes a run lost")->capture_default_str();
  gc->add_flag("--dry-run", o->dry_run, "Only list them");
  gc->callback([&global, o, exit_code] { *exit_code = run_gc(global, *o); });
}

}  // namespace wattlab::cli
