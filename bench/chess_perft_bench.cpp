// perft(start, 5) nodes per second: wattlab's move generator against
// Stockfish's `go perft 5` on the same machine (both count the last ply
// without playing it). Stockfish runs as one process spoken to over UCI; its
// time runs from sending `go perft 5` to reading "Nodes searched", after its
// start-up (`isready` answered). Every figure is the median of --rounds, the
// two contenders interleaved. Stockfish is skipped when the binary is absent.
//
//   build/bench/chess_perft_bench [--rounds 7] [--depth 5] [--stockfish /usr/games/stockfish]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <memory>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#include "wattlab/chess/movegen.h"

extern char** environ;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// A Stockfish process spoken to over pipes (UCI).
class Engine {
 public:
  explicit Engine(const std::string& binary) {
    int in[2], out[2];
    if (pipe(in) != 0 || pipe(out) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], STDIN_FILENO);
    posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, in[1]);
    posix_spawn_file_actions_addclose(&actions, out[0]);
    char* args[] = {const_cast<char*>(binary.c_str()), nullptr};
    const bool spawned = posix_spawn(&pid_, binary.c_str(), &actions, nullptr, args, environ) == 0;
    posix_spawn_file_actions_destroy(&actions);
    close(in[0]);
    close(out[1]);
    to_ = fdopen(in[1], "w");
    from_ = fdopen(out[0], "r");
    if (!spawned) pid_ = 0;
  }
  ~Engine() {
    if (to_) {
      send("quit");
      std::fclose(to_);
    }
    if (from_) std::fclose(from_);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
  }
  bool ok() const { return pid_ > 0 && to_ && from_; }
  void send(const std::string& line) {
    std::fprintf(to_, "%s\n", line.c_str());
    std::fflush(to_);
  }
  // Reads lines until one starts with `prefix`; returns it ("" at end of output).
  std::string wait_for(const std::string& prefix) {
    char buf[4096];
    while (std::fgets(buf, sizeof buf, from_))
      if (std::strncmp(buf, prefix.c_str(), prefix.size()) == 0) return buf;
    return "";
  }

 private:
  pid_t pid_ = 0;
  FILE* to_ = nullptr;
  FILE* from_ = nullptr;
};

// "AMD EPYC (AVX2, AVX-512)" from /proc/cpuinfo.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line, model = "unknown CPU", flags;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 && model == "unknown CPU") model = line.substr(line.find(':') + 2);
    if (line.rfind("flags", 0) == 0 && flags.empty()) flags = line + " ";
  }
  std::string features;
  if (flags.find(" avx2 ") != std::string::npos) features += "AVX2";
  if (flags.find(" avx512f ") != std::string::npos) features += features.empty() ? "AVX-512" : ", AVX-512";
  return features.empty() ? model : model + " (" + features + ")";
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 7, depth = 5;
  std::string stockfish = "/usr/games/stockfish";
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--depth")) depth = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--stockfish")) stockfish = argv[i + 1];
  }
  const bool have_stockfish = access(stockfish.c_str(), X_OK) == 0;
  const wattlab::chess::Position start = wattlab::chess::Position::start();
  std::vector<double> ours_s, stockfish_s;
  unsigned long long nodes = 0, stockfish_nodes = 0;
  std::unique_ptr<Engine> engine;
  if (have_stockfish) {
    engine = std::make_unique<Engine>(stockfish);
    if (!engine->ok()) {
      std::fprintf(stderr, "cannot start %s\n", stockfish.c_str());
      return 1;
    }
    engine->send("uci");
    engine->wait_for("uciok");
    engine->send("isready");
    engine->wait_for("readyok");
    engine->send("position startpos");
  }
  for (int r = 0; r < rounds; ++r) {
    const auto t = std::chrono::steady_clock::now();
    nodes = wattlab::chess::perft(start, depth);
    ours_s.push_back(seconds_since(t));
    if (engine) {
      const auto t0 = std::chrono::steady_clock::now();
      engine->send("go perft " + std::to_string(depth));
      const std::string line = engine->wait_for("Nodes searched: ");
      stockfish_s.push_back(seconds_since(t0));
      stockfish_nodes = line.empty() ? 0 : std::strtoull(line.c_str() + 16, nullptr, 10);
    }
  }
  std::printf("CPU: %s\n", cpu_model().c_str());
  const double ours = median(ours_s);
  std::printf("wattlab   perft(start, %d) = %llu nodes, median %.4f s: %.1f M nodes/s (%d rounds)\n", depth, nodes, ours,
              nodes / ours / 1e6, rounds);
  if (!have_stockfish) {
    std::printf("stockfish not found at %s: skipped (Debian package stockfish)\n", stockfish.c_str());
    return 0;
  }
  const double theirs = median(stockfish_s);
  std::printf("stockfish go perft %d    = %llu nodes, median %.4f s: %.1f M nodes/s (%s)\n", depth, stockfish_nodes,
              theirs, stockfish_nodes / theirs / 1e6, stockfish.c_str());
  std::printf("ratio wattlab / stockfish nodes per second: %.2f\n", theirs / ours);
  return stockfish_nodes == nodes ? 0 : 2;
}
