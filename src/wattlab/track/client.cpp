#include "wattlab/track/client.h"

#include <chrono>
#include <cstdio>

#include "wattlab/core/env.h"

namespace wattlab {

Result<std::unique_ptr<TrackingClient>> TrackingClient::start_run(RunLogger* store, const std::string& experiment_name,
                                                                  const std::string& run_name,
                                                                  TrackingClientOptions options) {
  Clock* clock = options.clock ? options.clock : &Env::system().clock();
  auto experiment_id = store->get_or_create_experiment(experiment_name);
  if (!experiment_id.ok()) return experiment_id.status();
  auto run = store->create_run(*experiment_id, run_name, clock->wall_ms());
  if (!run.ok()) return run.status();
  return std::make_unique<TrackingClient>(store, run->run_id, options);
}

TrackingClient::TrackingClient(RunLogger* store, std::string run_id, TrackingClientOptions options)
    : store_(store),
      run_id_(std::move(run_id)),
      options_(options),
      clock_(options.clock ? options.clock : &Env::system().clock()) {
  writer_ = std::thread([this] { writer_loop(); });
}

TrackingClient::~TrackingClient() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  writer_cv_.notify_one();
  writer_.join();
  for (const Status& s : errors_) {
    std::fprintf(stderr, "wattlab: run %s: a tracking write failed: %s\n", run_id_.c_str(), s.to_string().c_str());
  }
}

Status TrackingClient::enqueue_check_locked() const {
  if (ended_) return Status::invalid_argument("run " + run_id_ + " has ended; nothing more can be logged to it");
  return Status();
}

void TrackingClient::Pending::clear() {
  metrics.clear();
  params.clear();
  tags.clear();
  windows.clear();
  power.clear();
  environment.clear();
  items = 0;
}

void TrackingClient::added_locked(size_t items) {
  const bool was_full = pending_.items >= options_.max_batch_items;
  pending_.items += items;
  enqueued_ += items;
  // Once, when the batch fills: the writer checks the count before it waits.
  if (!was_full && pending_.items >= options_.max_batch_items) writer_cv_.notify_one();
}

Status TrackingClient::log_metric(const std::string& key, double value, int64_t step) {
  return log_metric(Metric{key, value, clock_->wall_ms(), step});
}

Status TrackingClient::log_metric(Metric metric) {
  WATTLAB_RETURN_IF_ERROR(validate_entity_key("metric", metric.key));
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  pending_.metrics.push_back(std::move(metric));
  added_locked(1);
  return Status();
}

Status TrackingClient::log_param(const std::string& key, const std::string& value) {
  WATTLAB_RETURN_IF_ERROR(validate_entity_key("param", key));
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  auto [it, inserted] = params_.emplace(key, value);
  if (!inserted) {
    if (it->second == value) return Status();
    return Status::invalid_argument("param '" + key + "' of run " + run_id_ + " is already '" + it->second +
                                    "' and cannot be changed to '" + value +
                                    "' — params are write-once; use a tag or start a new run");
  }
  pending_.params.push_back({key, value});
  added_locked(1);
  return Status();
}

Status TrackingClient::set_tag(const std::string& key, const std::string& value) {
  WATTLAB_RETURN_IF_ERROR(validate_entity_key("tag", key));
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  pending_.tags.push_back({key, value});
  added_locked(1);
  return Status();
}

Status TrackingClient::log_energy_window(EnergyWindow window) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  pending_.windows.push_back(std::move(window));
  added_locked(1);
  return Status();
}

Status TrackingClient::log_power_samples(std::vector<std::string> domain_names,
                                         std::vector<PowerSample> samples) {
  for (const auto& s : samples) {
    if (s.power_w.size() != domain_names.size()) {
      return Status::invalid_argument("power sample at " + std::to_string(s.timestamp_ms) + " ms has " +
                                      std::to_string(s.power_w.size()) + " values for " +
                                      std::to_string(domain_names.size()) + " domains");
    }
  }
  if (samples.empty()) return Status();
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  size_t n = samples.size();
  pending_.power.emplace_back(std::move(domain_names), std::move(samples));
  added_locked(n);
  return Status();
}

Status TrackingClient::set_environment(std::map<std::string, std::string> environment) {
  std::lock_guard<std::mutex> lock(mu_);
  WATTLAB_RETURN_IF_ERROR(enqueue_check_locked());
  size_t n = environment.size();
  for (auto& [key, value] : environment) pending_.environment[key] = std::move(value);
  added_locked(n);
  return Status();
}

Status TrackingClient::flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  if (written_ < target) {
    flush_requested_ = true;
    writer_cv_.notify_one();
    written_cv_.wait(lock, [&] { return written_ >= target; });
  }
  return take_errors_locked();
}

Status TrackingClient::end_run(RunStatus status) {
  Status flushed = flush();
  {
    std::lock_guard<std::mutex> lock(mu_);
    ended_ = true;
  }
  Status updated = store_->update_run(run_id_, status, clock_->wall_ms());
  return flushed.ok() ? updated : flushed;
}

Status TrackingClient::take_errors_locked() {
  if (errors_.empty()) return Status();
  Status first = errors_.front();
  size_t others = errors_.size() - 1;
  errors_.clear();
  if (others == 0) return first;
  return first.with_context(std::to_string(others) + " more tracking write(s) also failed; the first");
}

void TrackingClient::writer_loop() {
  // Swapped with pending_ each round, so both keep their capacity and a
  // log call rarely allocates.
  Pending batch;
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    writer_cv_.wait_for(lock, std::chrono::milliseconds(options_.flush_interval_ms), [&] {
      return stopping_ || flush_requested_ || pending_.items >= options_.max_batch_items;
    });
    flush_requested_ = false;
    if (options_.heartbeat_interval_ms > 0 && !ended_ && !stopping_) {
      const int64_t now_ms = clock_->wall_ms();
      if (!last_heartbeat_ms_ || now_ms - *last_heartbeat_ms_ >= options_.heartbeat_interval_ms) {
        last_heartbeat_ms_ = now_ms;
        pending_.tags.push_back({kHeartbeatTag, std::to_string(now_ms)});
        added_locked(1);
      }
    }
    if (pending_.items == 0) {
      if (stopping_) return;
      continue;
    }
    std::swap(batch, pending_);
    const uint64_t upto = enqueued_;
    lock.unlock();
    std::vector<Status> failures = write(batch);
    batch.clear();
    lock.lock();
    errors_.insert(errors_.end(), failures.begin(), failures.end());
    written_ = upto;
    written_cv_.notify_all();
  }
}

std::vector<Status> TrackingClient::write(Pending& batch) {
  std::vector<Status> failures;
  auto record = [&](Status s) {
    if (!s.ok()) failures.push_back(std::move(s));
  };
  if (!batch.metrics.empty() || !batch.params.empty() || !batch.tags.empty()) {
    Status s = store_->log_batch(run_id_, batch.metrics, batch.params, batch.tags);
    if (!s.ok() && s.code() == Status::Code::kInvalidArgument && !batch.params.empty()) {
      // Most likely a param another writer set differently. It must not cost
      // the metrics: write the rest without params, then each param alone.
      record(store_->log_batch(run_id_, batch.metrics, {}, batch.tags));
      for (const auto& p : batch.params) record(store_->log_batch(run_id_, {}, {p}, {}));
    } else {
      record(s);
    }
  }
  if (!batch.windows.empty()) record(store_->log_energy_windows(run_id_, batch.windows));
  for (const auto& [domains, samples] : batch.power) record(store_->log_power_samples(run_id_, domains, samples));
  if (!batch.environment.empty()) record(store_->set_environment(run_id_, batch.environment));
  return failures;
}

}  // namespace wattlab
