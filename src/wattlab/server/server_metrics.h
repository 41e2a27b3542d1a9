// The tracking server's own metrics, in Prometheus text exposition format
// 0.0.4 (served on /metrics):
//   wattlab_http_requests_total{endpoint,status}        counter
//   wattlab_http_request_duration_seconds{endpoint}     histogram
//   wattlab_http_request_body_bytes_total               counter (bytes received in request bodies)
//   wattlab_ingested_metric_points_total                counter
//   wattlab_ingested_params_total                       counter
//   wattlab_ingested_tags_total                         counter
//   wattlab_artifact_bytes_written_total                counter
//   process_start_time_seconds                          gauge (Unix time)
//
// Recording is cheap: relaxed atomics, plus a shared (reader) lock to find an
// endpoint's counters; the exclusive lock is taken only the first time an
// endpoint is seen. `endpoint` labels must come from a bounded set (route
// names, never raw request paths).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>

namespace wattlab {

class ServerMetrics {
 public:
  // Upper bounds (seconds) of the latency histogram's buckets, +Inf aside.
  static constexpr std::array<double, 14> kLatencyBucketsS = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,    0.25,  0.5,    1,     2.5,  5,     10};

  // `start_time_s`: the process start time to report (Unix seconds).
  explicit ServerMetrics(double start_time_s);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  // One finished request. `http_status` outside 100..599 counts as 0;
  // a negative `duration_s` records the count without a latency.
  void record_request(const std::string& endpoint, int http_status, double duration_s);
  void add_request_body_bytes(uint64_t bytes) { body_bytes_.fetch_add(bytes, std::memory_order_relaxed); }
  void add_ingested(uint64_t metric_points, uint64_t params, uint64_t tags);
  void add_artifact_bytes_written(uint64_t bytes) { artifact_bytes_.fetch_add(bytes, std::memory_order_relaxed); }

  // Every metric in text exposition format 0.0.4 (Content-Type
  // "text/plain; version=0.0.4"), endpoints in name order.
  std::string exposition() const;

 private:
  struct EndpointStats {
    std::array<std::atomic<uint64_t>, 600> by_status{};  // index: HTTP status (0: other)
    std::array<std::atomic<uint64_t>, kLatencyBucketsS.size()> bucket_counts{};  // not cumulative
    std::atomic<uint64_t> timed_count{0};                // requests with a latency
    std::atomic<uint64_t> duration_sum_ns{0};
  };
  EndpointStats& stats_for(const std::string& endpoint);

  const double start_time_s_;
  mutable std::shared_mutex mu_;  // guards the map; the stats themselves are atomics
  std::map<std::string, std::unique_ptr<EndpointStats>> endpoints_;
  std::atomic<uint64_t> body_bytes_{0};
  std::atomic<uint64_t> metric_points_{0};
  std::atomic<uint64_t> params_{0};
  std::atomic<uint64_t> tags_{0};
  std::atomic<uint64_t> artifact_bytes_{0};
};

}  // namespace wattlab
