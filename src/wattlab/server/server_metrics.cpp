#include "wattlab/server/server_metrics.h"

#include <cmath>
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <mutex>

namespace wattlab {

namespace {

// A label value escaped as the exposition format requires (\\, \", \n).
std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

// The shortest decimal that reads back as `v` ("0.0005", "10", not
// "0.00050000000000000001" or "1e+01").
std::string number(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  char buf[64];
  auto result = std::to_chars(buf, buf + sizeof(buf), v);
  return std::string(buf, result.ptr);
}

void header(std::string& out, const char* name, const char* type, const char* help) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
}

}  // namespace

ServerMetrics::ServerMetrics(double start_time_s) : start_time_s_(start_time_s) {}

ServerMetrics::EndpointStats& ServerMetrics::stats_for(const std::string& endpoint) {
  {
    std::shared_lock lock(mu_);
    auto it = endpoints_.find(endpoint);
    if (it != endpoints_.end()) return *it->second;
  }
  std::unique_lock lock(mu_);
  auto& slot = endpoints_[endpoint];
  if (!slot) slot = std::make_unique<EndpointStats>();
  return *slot;
}

void ServerMetrics::record_request(const std::string& endpoint, int http_status, double duration_s) {
  EndpointStats& s = stats_for(endpoint);
  const size_t index = http_status >= 100 && http_status < 600 ? static_cast<size_t>(http_status) : 0;
  s.by_status[index].fetch_add(1, std::memory_order_relaxed);
  if (duration_s < 0 || !std::isfinite(duration_s)) return;
  size_t bucket = 0;
  while (bucket < kLatencyBucketsS.size() && duration_s > kLatencyBucketsS[bucket]) ++bucket;
  if (bucket < kLatencyBucketsS.size()) s.bucket_counts[bucket].fetch_add(1, std::memory_order_relaxed);
  s.timed_count.fetch_add(1, std::memory_order_relaxed);
  s.duration_sum_ns.fetch_add(static_cast<uint64_t>(duration_s * 1e9), std::memory_order_relaxed);
}

void ServerMetrics::add_ingested(uint64_t metric_points, uint64_t params, uint64_t tags) {
  metric_points_.fetch_add(metric_points, std::memory_order_relaxed);
  params_.fetch_add(params, std::memory_order_relaxed);
  tags_.fetch_add(tags, std::memory_order_relaxed);
}

std::string ServerMetrics::exposition() const {
  std::string out;
  std::shared_lock lock(mu_);

  header(out, "wattlab_http_requests_total", "counter", "HTTP requests answered, by endpoint and status.");
  for (const auto& [endpoint, s] : endpoints_) {
    const std::string label = escape_label(endpoint);
    for (size_t status = 0; status < s->by_status.size(); ++status) {
      uint64_t n = s->by_status[status].load(std::memory_order_relaxed);
      if (n == 0) continue;
      out += "wattlab_http_requests_total{endpoint=\"" + label + "\",status=\"" +
             (status == 0 ? std::string("other") : std::to_string(status)) + "\"} " + std::to_string(n) + "\n";
    }
  }

  header(out, "wattlab_http_request_duration_seconds", "histogram",
         "Time from a request's headers being read to its response being written, by endpoint.");
  for (const auto& [endpoint, s] : endpoints_) {
    const std::string label = escape_label(endpoint);
    // Buckets are read before the count, which is raised to at least their
    // sum, so the +Inf bucket is never below the finite ones in one scrape.
    uint64_t cumulative = 0;
    std::string lines;
    for (size_t b = 0; b < kLatencyBucketsS.size(); ++b) {
      cumulative += s->bucket_counts[b].load(std::memory_order_relaxed);
      lines += "wattlab_http_request_duration_seconds_bucket{endpoint=\"" + label + "\",le=\"" +
               number(kLatencyBucketsS[b]) + "\"} " + std::to_string(cumulative) + "\n";
    }
    uint64_t count = std::max(cumulative, s->timed_count.load(std::memory_order_relaxed));
    if (count == 0) continue;
    out += lines;
    out += "wattlab_http_request_duration_seconds_bucket{endpoint=\"" + label + "\",le=\"+Inf\"} " +
           std::to_string(count) + "\n";
    out += "wattlab_http_request_duration_seconds_sum{endpoint=\"" + label + "\"} " +
           number(static_cast<double>(s->duration_sum_ns.load(std::memory_order_relaxed)) / 1e9) + "\n";
    out += "wattlab_http_request_duration_seconds_count{endpoint=\"" + label + "\"} " + std::to_string(count) + "\n";
  }

  auto counter = [&](const char* name, const char* help, const std::atomic<uint64_t>& value) {
    header(out, name, "counter", help);
    out += std::string(name) + " " + std::to_string(value.load(std::memory_order_relaxed)) + "\n";
  };
  counter("wattlab_http_request_body_bytes_total", "Bytes received in request bodies.", body_bytes_);
  counter("wattlab_ingested_metric_points_total", "Metric points written to the store.", metric_points_);
  counter("wattlab_ingested_params_total", "Params written to the store.", params_);
  counter("wattlab_ingested_tags_total", "Run tags written to the store.", tags_);
  counter("wattlab_artifact_bytes_written_total", "Bytes of artifacts stored by completed uploads.", artifact_bytes_);
  header(out, "process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, in seconds.");
  out += "process_start_time_seconds " + number(start_time_s_) + "\n";
  return out;
}

}  // namespace wattlab
