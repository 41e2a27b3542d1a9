#include "wattlab/track/store_support.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace wattlab::store_support {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.size() >= prefix.size() && s.compare(0, prefix.size(), prefix) == 0;
}

bool is_hex(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::string to_lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_decimal_id(const std::string& id) {
  return !id.empty() && id.size() <= 18 && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const char* lifecycle_condition(ViewType view) {
  switch (view) {
    case ViewType::kActiveOnly: return "'active'";
    case ViewType::kDeletedOnly: return "'deleted'";
    case ViewType::kAll: return nullptr;
  }
  return nullptr;
}

Status check_max_results(int max_results, int limit) {
  if (max_results < 1 || max_results > limit) {
    return Status::invalid_argument("max_results " + std::to_string(max_results) + " is out of range; it must be 1.." +
                                    std::to_string(limit));
  }
  return Status();
}

Status check_schema_version(int schema_version, int latest) {
  if (schema_version < 1 || schema_version > latest) {
    return Status::invalid_argument("schema version " + std::to_string(schema_version) + " is not in 1.." +
                                    std::to_string(latest));
  }
  return Status();
}

Result<BatchMetrics> batch_series(const std::vector<Metric>& metrics) {
  BatchMetrics batch;
  auto& series = batch.series;
  batch.series_of.reserve(metrics.size());
  for (const auto& m : metrics) {
    // Consecutive points often share a key: no lookup then.
    BatchSeries* b = batch.series_of.empty() ? nullptr : batch.series_of.back();
    if (b == nullptr || b->newest->key != m.key) {
      auto [it, added] = series.try_emplace(m.key);
      b = &it->second;
      if (added) {
        WATTLAB_RETURN_IF_ERROR(validate_entity_key("metric", m.key));
        b->newest = &m;
      }
    }
    if (m.step > b->newest->step || (m.step == b->newest->step && m.timestamp_ms >= b->newest->timestamp_ms)) {
      b->newest = &m;
    }
    ++b->points;
    batch.series_of.push_back(b);
  }
  size_t ordinal = 0;
  for (auto& [key, b] : series) b.ordinal = ordinal++;
  return batch;
}

void PowerTimelineBuilder::add(int64_t timestamp_ms, const std::string& domain, double power_w) {
  auto [it, added] = domain_index_.emplace(domain, timeline_.domains.size());
  if (added) {
    timeline_.domains.push_back(domain);
    for (auto& sample : timeline_.samples) sample.power_w.push_back(std::nan(""));
  }
  if (timeline_.samples.empty() || timeline_.samples.back().timestamp_ms != timestamp_ms) {
    timeline_.samples.push_back({timestamp_ms, std::vector<double>(timeline_.domains.size(), std::nan(""))});
  }
  timeline_.samples.back().power_w[it->second] = power_w;
}

Status check_power_sampling(std::optional<int64_t> from_ms, std::optional<int64_t> to_ms, int max_points) {
  if (max_points < 1 || max_points > kSampledHistoryMaxPoints) {
    return Status::invalid_argument("max_points must be 1.." + std::to_string(kSampledHistoryMaxPoints) + ", got " +
                                    std::to_string(max_points));
  }
  if (from_ms && to_ms && *from_ms > *to_ms) {
    return Status::invalid_argument("the power range starts (" + std::to_string(*from_ms) + " ms) after it ends (" +
                                    std::to_string(*to_ms) + " ms)");
  }
  return Status();
}

std::string sampled_power_sql(SqlDialect dialect) {
  // Span r of n covers [lo + ceil(r * w / n), lo + ceil((r + 1) * w / n)) with
  // w = hi - lo + 1 (integer arithmetic: exact, and the same on both
  // dialects). Each step of the recursion is one index probe: the first
  // timestamp at or after the start of the span after the last one taken.
  std::string sql =
      "WITH RECURSIVE bounds(lo, hi) AS ("
      "  SELECT COALESCE(@2, (SELECT timestamp_ms FROM power_samples WHERE run_id = @1 ORDER BY timestamp_ms LIMIT 1)),"
      "         COALESCE(@3, (SELECT timestamp_ms FROM power_samples WHERE run_id = @1 ORDER BY timestamp_ms DESC LIMIT 1))),"
      " picked(ts) AS ("
      "  SELECT (SELECT timestamp_ms FROM power_samples WHERE run_id = @1 AND timestamp_ms >= b.lo"
      "          ORDER BY timestamp_ms LIMIT 1) FROM bounds b"
      "  UNION ALL"
      "  SELECT (SELECT timestamp_ms FROM power_samples WHERE run_id = @1 AND timestamp_ms >= b.lo +"
      "            ((b.hi - b.lo + 1) * ((p.ts - b.lo) * @4 / (b.hi - b.lo + 1) + 1) + @4 - 1) / @4"
      "          ORDER BY timestamp_ms LIMIT 1)"
      "  FROM picked p CROSS JOIN bounds b WHERE p.ts <= b.hi)"
      // IN, not a join: SQLite would scan the run's samples for a join.
      " SELECT s.timestamp_ms, s.domain, s.power_w FROM power_samples s WHERE s.run_id = @1 AND s.timestamp_ms IN"
      " (SELECT p.ts FROM picked p CROSS JOIN bounds b WHERE p.ts <= b.hi) ORDER BY s.timestamp_ms, s.@seq";
  const bool postgres = dialect == SqlDialect::kPostgres;
  auto replace_all = [&sql](const std::string& from, const std::string& to) {
    for (size_t at = sql.find(from); at != std::string::npos; at = sql.find(from, at + to.size())) {
      sql.replace(at, from.size(), to);
    }
  };
  replace_all("@seq", postgres ? "seq" : "rowid");
  replace_all("@", postgres ? "$" : "?");
  return sql;
}

}  // namespace wattlab::store_support
