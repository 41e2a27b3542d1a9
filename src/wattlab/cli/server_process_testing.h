// Test helper: `wattlab --store STORE server --port 0` as a child process,
// for the end-to-end tests that log through a real server. WATTLAB_BINARY
// must name the binary (the tests' CMake definitions do).
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace wattlab::testing {

class ServerProcess {
 public:
  // Starts the server (with `extra` arguments after `server --port 0`) with
  // its stdout in DIR/server.out and its artifacts in DIR/server-artifacts
  // (unless `extra` names --artifacts), and waits (up to 10 s) for its
  // "listening on http://HOST:PORT" line; uri() stays empty when it does not come.
  ServerProcess(const std::filesystem::path& dir, const std::string& store, const std::vector<std::string>& extra = {})
      : log_(dir / "server.out"), artifacts_dir_(dir / "server-artifacts") {
    std::string bin = WATTLAB_BINARY;
    std::vector<std::string> args = {bin, "--store", store, "server", "--port", "0"};
    bool own_artifacts = true;
    for (size_t i = 0; i + 1 < extra.size(); ++i) {
      if (extra[i] == "--artifacts") artifacts_dir_ = extra[i + 1], own_artifacts = false;
    }
    if (own_artifacts) args.insert(args.end(), {"--artifacts", artifacts_dir_});
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    for (int i = 0; i < 200 && uri_.empty() && pid_ > 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) pid_ = 0;  // it exited (refused its arguments)
      std::string out = output();
      size_t at = out.find("http://");
      if (at != std::string::npos && out.find(' ', at) != std::string::npos) uri_ = out.substr(at, out.find(' ', at) - at);
    }
  }
  ~ServerProcess() { stop(SIGTERM); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Sends `signal` and waits for the server to exit; later calls do nothing.
  void stop(int signal) {
    if (pid_ <= 0) return;
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = 0;
  }
  // "http://127.0.0.1:PORT", or empty when the server did not start.
  const std::string& uri() const { return uri_; }
  // The server's --artifacts folder.
  const std::string& artifacts_dir() const { return artifacts_dir_; }
  // The port of uri(); 0 when the server did not start.
  int port() const { return uri_.empty() ? 0 : std::atoi(uri_.c_str() + uri_.rfind(':') + 1); }
  // True while the process has not exited.
  bool running() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  // What the server printed on stdout so far.
  std::string output() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

 private:
  std::filesystem::path log_;
  std::string artifacts_dir_;
  pid_t pid_ = 0;
  std::string uri_;
};

}  // namespace wattlab::testing
