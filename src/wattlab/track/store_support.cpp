#include "wattlab/track/store_support.h"

#include <algorithm>
#include <cctype>

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

}  // namespace wattlab::store_support
