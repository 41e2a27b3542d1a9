// Load benchmark of `wattlab server` (issue 21): many trainers logging at
// once, plus clients that hold connections without using them.
//
// Starts `<wattlab> --store <tmp>/load.db server --port 0` as a child process
// (so its memory is its own), creates one run per logging client, then for
// --seconds keeps open at once:
//   --clients  keep-alive connections, each logging one metric point
//              (runs/log-metric) every --interval-ms (0: back to back) and
//              timing every round trip;
//   --idle     connections that sent one GET /health and then stay silent;
//   --slow     connections that send a request head one byte a second and
//              never finish it (reopened whenever the server drops them).
// Prints the logging clients' round trips (p50, p99, max), the requests per
// second served, requests that failed or got no answer within 10 s
// ("starved"), the server's peak resident memory (VmHWM) and its CPU time
// per answered request (which, unlike latency, does not depend on what else
// the machine runs). With --compare
// BINARY the same load runs against a second binary first (e.g. the previous
// build), and both are printed.
//
// Usage: load_bench --wattlab build/wattlab [--compare OTHER] [--clients 500]
//                   [--idle 50] [--slow 10] [--seconds 20] [--interval-ms 100]
//                   [--durability full|process]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <utility>  // before Asio: Boost 1.74's awaitable.hpp uses std::exchange without it

#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
namespace fs = std::filesystem;
extern char** environ;

namespace {

struct Options {
  std::string wattlab;
  std::string compare;
  int clients = 500;
  int idle = 50;
  int slow = 10;
  int seconds = 20;
  int interval_ms = 100;
  std::string durability;  // passed as --durability when set
};

constexpr auto kStarvedAfter = std::chrono::seconds(10);
constexpr auto kWarmUp = std::chrono::seconds(2);

struct Results {
  std::vector<double> latency_ms;  // logging round trips after the warm-up
  long completed = 0;               // answered 200 after the warm-up
  long failed = 0;                  // answered otherwise, or the connection broke
  long starved = 0;                 // no answer within kStarvedAfter
  long slow_dropped = 0;            // slow-header connections the server closed
  long idle_dropped = 0;            // idle connections the server closed
  double measured_s = 0;
  long peak_rss_kib = 0;
  double server_cpu_s = 0;          // the server's CPU time (user + system) while measured
};

// `wattlab server` as a child process on a free port.
class Server {
 public:
  Server(const std::string& binary, const fs::path& dir, const std::string& durability) {
    log_ = dir / "server.out";
    std::vector<std::string> args = {binary, "--store", (dir / "load.db").string(), "server", "--port", "0",
                                     "--artifacts", (dir / "artifacts").string()};
    if (!durability.empty()) args.insert(args.end(), {"--durability", durability});
    if (const char* threads = std::getenv("LOAD_BENCH_SERVER_THREADS")) args.insert(args.end(), {"--threads", threads});
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, (dir / "server.err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (posix_spawn(&pid_, binary.c_str(), &actions, nullptr, argv.data(), environ) != 0) pid_ = 0;
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 400 && port_ == 0 && pid_ > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
      std::ifstream in(log_);
      std::stringstream s;
      s << in.rdbuf();
      const std::string out = s.str();
      const size_t at = out.find("http://127.0.0.1:");
      if (at != std::string::npos) port_ = std::atoi(out.c_str() + at + std::strlen("http://127.0.0.1:"));
    }
  }
  ~Server() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  int port() const { return port_; }
  // The server's CPU time so far (user + system), in seconds.
  double cpu_s() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/stat");
    std::string stat((std::istreambuf_iterator<char>(in)), {});
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(stat.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; fields >> field; ++i) {  // field 3 is the state
      if (i == 14) utime = std::stoull(field);
      if (i == 15) {
        stime = std::stoull(field);
        break;
      }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  // The server's peak resident set (VmHWM) in KiB.
  long peak_rss_kib() const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
  }

 private:
  fs::path log_;
  pid_t pid_ = 0;
  int port_ = 0;
};

std::string log_metric_body(const std::string& run_id, long step) {
  return "{\"run_id\":\"" + run_id + "\",\"key\":\"loss\",\"value\":" + std::to_string(1.0 / (step + 1)) +
         ",\"timestamp\":" + std::to_string(1'700'000'000'000 + step) + ",\"step\":" + std::to_string(step) + "}";
}

// A trainer: logs a point, waits for the answer, sleeps, and again.
class Logger : public std::enable_shared_from_this<Logger> {
 public:
  Logger(asio::io_context& io, tcp::endpoint endpoint, std::string run_id, const Options& options,
         SteadyClock::time_point measure_from, SteadyClock::time_point stop_at, Results* results)
      : socket_(io), timer_(io), deadline_(io), endpoint_(endpoint), run_id_(std::move(run_id)), options_(options),
        measure_from_(measure_from), stop_at_(stop_at), results_(results) {}

  void start() {
    auto self = shared_from_this();
    socket_.async_connect(endpoint_, [self](beast::error_code ec) {
      if (ec) return self->fail();
      self->socket_.set_option(tcp::no_delay(true));
      self->send();
    });
  }

 private:
  void send() {
    if (SteadyClock::now() >= stop_at_) return close();
    request_ = {http::verb::post, "/api/2.0/mlflow/runs/log-metric", 11};
    request_.set(http::field::host, "127.0.0.1");
    request_.set(http::field::content_type, "application/json");
    request_.body() = log_metric_body(run_id_, step_++);
    request_.prepare_payload();
    sent_at_ = SteadyClock::now();
    answered_ = false;
    auto self = shared_from_this();
    deadline_.expires_after(kStarvedAfter);
    deadline_.async_wait([self](beast::error_code ec) {
      if (ec || self->answered_) return;
      ++self->results_->starved;
      self->close();
    });
    http::async_write(socket_, request_, [self](beast::error_code ec, size_t) {
      if (ec) return self->fail();
      self->response_ = {};
      http::async_read(self->socket_, self->buffer_, self->response_, [self](beast::error_code ec2, size_t) {
        self->answered_ = true;
        self->deadline_.cancel();
        if (ec2) return self->fail();
        const auto now = SteadyClock::now();
        if (self->sent_at_ >= self->measure_from_ && now <= self->stop_at_) {
          if (self->response_.result_int() == 200) {
            ++self->results_->completed;
            self->results_->latency_ms.push_back(
                std::chrono::duration<double, std::milli>(now - self->sent_at_).count());
          } else {
            ++self->results_->failed;
          }
        }
        if (self->options_.interval_ms <= 0) return self->send();
        self->timer_.expires_after(std::chrono::milliseconds(self->options_.interval_ms));
        self->timer_.async_wait([self](beast::error_code) { self->send(); });
      });
    });
  }
  void fail() {
    if (socket_.is_open() && SteadyClock::now() < stop_at_) ++results_->failed;
    close();
  }
  void close() {
    beast::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    deadline_.cancel();
  }

  tcp::socket socket_;
  asio::steady_timer timer_;
  asio::steady_timer deadline_;
  tcp::endpoint endpoint_;
  std::string run_id_;
  const Options& options_;
  SteadyClock::time_point measure_from_, stop_at_;
  Results* results_;
  http::request<http::string_body> request_;
  http::response<http::string_body> response_;
  beast::flat_buffer buffer_;
  SteadyClock::time_point sent_at_;
  bool answered_ = false;
  long step_ = 0;
};

// A connection that holds a server slot: idle after one request, or trickling
// a request head that never ends. Reopened when the server closes it.
class Squatter : public std::enable_shared_from_this<Squatter> {
 public:
  Squatter(asio::io_context& io, tcp::endpoint endpoint, bool slow, SteadyClock::time_point stop_at, long* dropped)
      : io_(io), socket_(io), timer_(io), endpoint_(endpoint), slow_(slow), stop_at_(stop_at), dropped_(dropped) {}

  void start() {
    auto self = shared_from_this();
    socket_ = tcp::socket(io_);
    socket_.async_connect(endpoint_, [self](beast::error_code ec) {
      if (ec) return self->retry();
      if (self->slow_) {
        self->head_ = "POST /api/2.0/mlflow/runs/log-metric HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
        self->sent_ = 0;
        self->trickle();
      } else {
        self->head_ = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        asio::async_write(self->socket_, asio::buffer(self->head_), [self](beast::error_code ec2, size_t) {
          if (ec2) return self->retry();
          self->watch();
        });
      }
    });
  }

 private:
  // One byte a second, forever; and watch for the server closing.
  void trickle() {
    if (SteadyClock::now() >= stop_at_) return close();
    if (sent_ == 0) watch();
    // The head, then a header value that never ends.
    const char* byte = sent_ < head_.size() ? head_.data() + sent_ : "a";
    auto self = shared_from_this();
    asio::async_write(socket_, asio::buffer(byte, 1), [self](beast::error_code ec, size_t) {
      if (ec) return self->retry();
      ++self->sent_;
      self->timer_.expires_after(std::chrono::seconds(1));
      self->timer_.async_wait([self](beast::error_code ec2) {
        if (!ec2) self->trickle();
      });
    });
  }
  // Reads (and drops) whatever the server sends until it closes.
  void watch() {
    auto self = shared_from_this();
    socket_.async_read_some(asio::buffer(scratch_), [self](beast::error_code ec, size_t) {
      if (ec) return self->retry();
      self->watch();
    });
  }
  void retry() {
    if (SteadyClock::now() >= stop_at_ || closed_) return close();
    ++*dropped_;
    beast::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
    auto self = shared_from_this();
    timer_.expires_after(std::chrono::milliseconds(100));
    timer_.async_wait([self](beast::error_code) { self->start(); });
  }
  void close() {
    closed_ = true;
    beast::error_code ignored;
    socket_.close(ignored);
    timer_.cancel();
  }

  asio::io_context& io_;
  tcp::socket socket_;
  asio::steady_timer timer_;
  tcp::endpoint endpoint_;
  bool slow_;
  SteadyClock::time_point stop_at_;
  long* dropped_;
  std::string head_;
  size_t sent_ = 0;
  char scratch_[512];
  bool closed_ = false;
};

// Creates `n` runs with blocking requests on one connection.
std::vector<std::string> create_runs(tcp::endpoint endpoint, int n) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(endpoint);
  beast::flat_buffer buffer;
  std::vector<std::string> ids;
  for (int i = 0; i < n; ++i) {
    http::request<http::string_body> req{http::verb::post, "/api/2.0/mlflow/runs/create", 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.body() = "{\"experiment_id\":\"0\",\"run_name\":\"trainer-" + std::to_string(i) + "\"}";
    req.prepare_payload();
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    ids.push_back(nlohmann::json::parse(res.body())["run"]["info"]["run_id"].get<std::string>());
  }
  return ids;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

Results run_load(const std::string& binary, const Options& o) {
  Results results;
  const fs::path dir = fs::temp_directory_path() / ("wattlab_load_bench_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  {
    Server server(binary, dir, o.durability);
    if (server.port() == 0) {
      std::fprintf(stderr, "%s did not start (see %s)\n", binary.c_str(), (dir / "server.err").c_str());
      std::exit(1);
    }
    const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(server.port()));
    const std::vector<std::string> runs = create_runs(endpoint, o.clients);

    asio::io_context io;
    const auto start = SteadyClock::now();
    const auto measure_from = start + kWarmUp;
    const auto stop_at = measure_from + std::chrono::seconds(o.seconds);
    for (int i = 0; i < o.idle; ++i)
      std::make_shared<Squatter>(io, endpoint, false, stop_at, &results.idle_dropped)->start();
    for (int i = 0; i < o.slow; ++i)
      std::make_shared<Squatter>(io, endpoint, true, stop_at, &results.slow_dropped)->start();
    for (int i = 0; i < o.clients; ++i) {
      std::make_shared<Logger>(io, endpoint, runs[static_cast<size_t>(i)], o, measure_from, stop_at, &results)
          ->start();
    }
    double cpu_at_start = 0;
    asio::steady_timer measuring(io);
    measuring.expires_at(measure_from);
    measuring.async_wait([&](beast::error_code) { cpu_at_start = server.cpu_s(); });
    asio::steady_timer measured(io);
    measured.expires_at(stop_at);
    measured.async_wait([&](beast::error_code) { results.server_cpu_s = server.cpu_s() - cpu_at_start; });
    asio::steady_timer end(io);
    end.expires_at(stop_at + kStarvedAfter + std::chrono::seconds(1));
    end.async_wait([&io](beast::error_code) { io.stop(); });
    io.run();
    results.measured_s = o.seconds;
    results.peak_rss_kib = server.peak_rss_kib();
  }
  fs::remove_all(dir);
  return results;
}

void print(const std::string& label, const Options& o, const Results& r) {
  std::printf("%s: %d logging clients (every %d ms), %d idle, %d slow-header, %d s\n", label.c_str(), o.clients,
              o.interval_ms, o.idle, o.slow, o.seconds);
  std::printf("  log-metric round trip: p50 %.2f ms  p99 %.2f ms  max %.2f ms\n", percentile(r.latency_ms, 0.5),
              percentile(r.latency_ms, 0.99), percentile(r.latency_ms, 1.0));
  std::printf("  served %.0f requests/s; failed %ld; starved (no answer in %lld s) %ld\n",
              static_cast<double>(r.completed) / r.measured_s, r.failed,
              static_cast<long long>(kStarvedAfter.count()), r.starved);
  std::printf("  server closed %ld idle and %ld slow-header connections; server peak RSS %.1f MiB\n", r.idle_dropped,
              r.slow_dropped, static_cast<double>(r.peak_rss_kib) / 1024.0);
  std::printf("  server CPU while measured: %.0f%% of one core, %.1f us per answered request\n",
              100.0 * r.server_cpu_s / r.measured_s,
              r.completed ? 1e6 * r.server_cpu_s / static_cast<double>(r.completed) : 0.0);
}

const char* arg(int argc, char** argv, const char* name) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  auto int_arg = [&](const char* name, int fallback) {
    const char* v = arg(argc, argv, name);
    return v ? std::atoi(v) : fallback;
  };
  o.wattlab = arg(argc, argv, "--wattlab") ? arg(argc, argv, "--wattlab") : "build/wattlab";
  o.compare = arg(argc, argv, "--compare") ? arg(argc, argv, "--compare") : "";
  o.durability = arg(argc, argv, "--durability") ? arg(argc, argv, "--durability") : "";
  o.clients = int_arg("--clients", o.clients);
  o.idle = int_arg("--idle", o.idle);
  o.slow = int_arg("--slow", o.slow);
  o.seconds = int_arg("--seconds", o.seconds);
  o.interval_ms = int_arg("--interval-ms", o.interval_ms);
  // Both ends hold a descriptor per connection.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  signal(SIGPIPE, SIG_IGN);
  if (!o.compare.empty()) {
    Options before = o;
    before.durability.clear();  // an older binary may not know the option
    print(o.compare, before, run_load(o.compare, before));
  }
  print(o.wattlab, o, run_load(o.wattlab, o));
  return 0;
}
