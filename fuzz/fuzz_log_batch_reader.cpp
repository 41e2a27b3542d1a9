// libFuzzer target: the fast runs/log-batch body reader (server/
// log_batch_reader.h) against the general path it stands in for. Properties:
//   - read_log_batch never crashes, whatever the bytes;
//   - whatever it reads, nlohmann's parse and MlflowApi's conversion read
//     alike: the same run id, and the same metrics, params and tags in the
//     same order (the header's promise; a difference would make the server's
//     answer depend on which path a body took).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>

#include "wattlab/server/log_batch_reader.h"

namespace {

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "property violated: %s\n", what);
  std::abort();
}

// The general path's reading of a metric's int64 field (a JSON integer).
int64_t int64_of(const nlohmann::json& v) {
  if (!v.is_number_integer() || (v.is_number_unsigned() && v.get<uint64_t>() > INT64_MAX)) violated("int64 field");
  return v.get<int64_t>();
}

template <typename KeyValue>
void same_key_values(const nlohmann::json& list, const std::vector<KeyValue>& read) {
  if (!list.is_array() || list.size() != read.size()) violated("key/value list size");
  for (size_t i = 0; i < read.size(); ++i) {
    const auto& item = list[i];
    if (item.at("key").get<std::string>() != read[i].key) violated("key");
    if (item.value("value", std::string()) != read[i].value) violated("value");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string body(reinterpret_cast<const char*>(data), size);
  const auto batch = wattlab::read_log_batch(body);
  if (!batch) return 0;
  const nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) violated("the fast reader read a body the general parser refuses");
  if (j.at("run_id").get<std::string>() != batch->run_id) violated("run_id");
  const nlohmann::json metrics = j.value("metrics", nlohmann::json::array());
  if (!metrics.is_array() || metrics.size() != batch->metrics.size()) violated("metric count");
  for (size_t i = 0; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    const auto& r = batch->metrics[i];
    if (m.at("key").get<std::string>() != r.key) violated("metric key");
    const double value = m.at("value").get<double>();
    if (!(value == r.value || (std::isnan(value) && std::isnan(r.value)))) violated("metric value");
    if (int64_of(m.at("timestamp")) != r.timestamp_ms) violated("metric timestamp");
    if ((m.contains("step") ? int64_of(m.at("step")) : 0) != r.step) violated("metric step");
  }
  same_key_values(j.value("params", nlohmann::json::array()), batch->params);
  same_key_values(j.value("tags", nlohmann::json::array()), batch->tags);
  return 0;
}
