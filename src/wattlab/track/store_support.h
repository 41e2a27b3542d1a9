// Small helpers the store back ends (SqliteStore, PostgresStore) share:
// run-id and experiment-id checks, and the SQL both dialects read alike.
// Internal to track/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/track/filter.h"
#include "wattlab/track/store.h"

// The conflict clause of both stores' metric_series upsert (one row per key
// of a batch): adds the batch's point count, and moves the latest point when
// the batch's newest (excluded) is at least as new, so the last logged wins a
// tie. A macro so that it joins the statements' literals.
#define WATTLAB_EXCLUDED_IS_NEWER                                                          \
  "(excluded.step > metric_series.step OR (excluded.step = metric_series.step AND "       \
  "excluded.timestamp_ms >= metric_series.timestamp_ms))"
#define WATTLAB_METRIC_SERIES_ON_CONFLICT                                                   \
  "ON CONFLICT (run_id, key) DO UPDATE SET points = metric_series.points + excluded.points, " \
  "value = CASE WHEN " WATTLAB_EXCLUDED_IS_NEWER " THEN excluded.value ELSE metric_series.value END, " \
  "timestamp_ms = CASE WHEN " WATTLAB_EXCLUDED_IS_NEWER                                     \
  " THEN excluded.timestamp_ms ELSE metric_series.timestamp_ms END, "                        \
  "step = CASE WHEN " WATTLAB_EXCLUDED_IS_NEWER " THEN excluded.step ELSE metric_series.step END "

namespace wattlab::store_support {

bool starts_with(const std::string& s, const std::string& prefix);
// Only '0'-'9' and 'a'-'f' (run ids are lower-case hex).
bool is_hex(const std::string& s);
std::string to_lower(std::string s);
// 1 to 18 decimal digits: what an experiment id can be (others name no experiment).
bool is_decimal_id(const std::string& id);
// The lifecycle_stage literal a view keeps ("'active'", "'deleted'"), or
// nullptr for every stage.
const char* lifecycle_condition(ViewType view);
// InvalidArgument unless 1 <= max_results <= limit.
Status check_max_results(int max_results, int limit);
// InvalidArgument unless 1 <= schema_version <= latest (create_at_schema_version).
Status check_schema_version(int schema_version, int latest);

// One metric key of a log_batch: how many points the batch brings, its
// newest point (highest (step, timestamp_ms), the last logged on a tie: the
// only one that can become the series' latest), and, once the series row is
// written, its id and the seq its next point gets.
struct BatchSeries {
  const Metric* newest = nullptr;
  int64_t points = 0;
  size_t ordinal = 0;  // the key's place among the batch's keys in key order (0, 1, ...)
  int64_t series_id = 0;
  int64_t next_seq = 0;
};
// The series of a log_batch's metrics: by key (views into the metrics, which
// must outlive it), and each metric's, so a store finds it without a lookup.
struct BatchMetrics {
  std::map<std::string_view, BatchSeries> series;
  std::vector<BatchSeries*> series_of;  // series_of[i]: the series of metrics[i]
};
// `metrics` grouped by key, each key checked with validate_entity_key.
// InvalidArgument for the first invalid key.
Result<BatchMetrics> batch_series(const std::vector<Metric>& metrics);

// A PowerTimeline from (timestamp_ms, domain, power_w) rows in timestamp
// order: one sample per timestamp, NaN for the domains it has no row for,
// domains in order of first appearance.
class PowerTimelineBuilder {
 public:
  void add(int64_t timestamp_ms, const std::string& domain, double power_w);
  PowerTimeline take() { return std::move(timeline_); }

 private:
  PowerTimeline timeline_;
  std::map<std::string, size_t> domain_index_;  // domain -> its place in timeline_.domains
};

// InvalidArgument unless get_power_samples_sampled's arguments are valid.
Status check_power_sampling(std::optional<int64_t> from_ms, std::optional<int64_t> to_ms, int max_points);
// The query behind get_power_samples_sampled, in `dialect`: parameters 1 the
// run id, 2 from_ms and 3 to_ms (typed BIGINT NULLs where not given), 4
// max_points; rows (timestamp_ms, domain, power_w) in timestamp order, then
// logging order.
std::string sampled_power_sql(SqlDialect dialect);

}  // namespace wattlab::store_support
