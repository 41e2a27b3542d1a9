// A real `wattlab server` process against hostile and careless clients
// (issue 21): a deeply nested body, connections held idle or trickled, a
// filter too long for the database, a refused token, and an upload whose
// server was killed. After each, the server answers a normal request.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "wattlab/cli/server_process_testing.h"
#include "wattlab/server/http_client.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kToken = "hardening-test-token-0123456789";

// A socket connected to the server that sends only what it is told to.
class Socket {
 public:
  explicit Socket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~Socket() { close(fd_); }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  bool connected() const { return connected_; }
  bool send_text(const std::string& text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

class ServerHardeningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("wattlab_hardening_" + std::to_string(getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = (dir_ / "runs.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A client that gives up after 3 s, so that a starved request fails the
  // test rather than hanging it.
  static std::unique_ptr<HttpClient> client(const testing::ServerProcess& server) {
    HttpClientOptions options;
    options.io_timeout = 3s;
    return std::make_unique<HttpClient>("127.0.0.1", server.port(), options);
  }
  static HttpHeaders auth() { return {{"Authorization", std::string("Bearer ") + kToken}}; }

  // The server answers /health (with the token when `token`).
  static void expect_healthy(const testing::ServerProcess& server, bool token = false) {
    auto res = client(server)->get("/health", token ? auth() : HttpHeaders{});
    ASSERT_TRUE(res.ok()) << res.status().to_string() << "\n" << server.output();
    EXPECT_EQ(res->status, 200);
  }

  fs::path dir_;
  std::string store_;
};

TEST_F(ServerHardeningTest, ADeeplyNestedBodyIsRefusedAndTheServerGoesOn) {
  testing::ServerProcess server(dir_, store_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  // 100,000 levels in 200 KB: the value of a field that wants strings.
  const std::string nested = std::string(100'000, '[') + std::string(100'000, ']');
  for (const char* endpoint : {"runs/search", "runs/log-batch", "experiments/create"}) {
    const std::string body = std::string("{\"experiment_ids\": ") + nested + ", \"metrics\": " + nested +
                             ", \"name\": " + nested + "}";
    auto res = client(server)->post(std::string("/api/2.0/mlflow/") + endpoint, body);
    ASSERT_TRUE(res.ok()) << endpoint << ": " << res.status().to_string();
    EXPECT_EQ(res->status, 400) << res->body;
    EXPECT_EQ(json::parse(res->body)["error_code"], "BAD_REQUEST");
    ASSERT_TRUE(server.running()) << "the server died on " << endpoint;
  }
  // Nesting within the bound still gets MLflow's wrong-type error, whose
  // message does not dump the value.
  auto res = client(server)->post("/api/2.0/mlflow/runs/search",
                                  "{\"experiment_ids\": " + std::string(60, '[') + std::string(60, ']') + "}");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(json::parse(res->body)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_LT(res->body.size(), 400u) << res->body;
  expect_healthy(server);
}

// Eight keep-alive clients and fifty unauthenticated sockets trickling a
// request head held every thread of the old server; a trainer's request must
// still be answered at once.
TEST_F(ServerHardeningTest, IdleAndSlowClientsDoNotStarveAnAuthenticatedOne) {
  testing::ServerProcess server(dir_, store_, {"--token", kToken});
  ASSERT_FALSE(server.uri().empty()) << server.output();
  std::vector<std::unique_ptr<HttpClient>> idle;
  for (int i = 0; i < 8; ++i) {
    idle.push_back(client(server));
    auto res = idle.back()->get("/health", auth());
    ASSERT_TRUE(res.ok()) << res.status().to_string();
  }
  std::vector<std::unique_ptr<Socket>> slow;
  for (int i = 0; i < 50; ++i) {
    slow.push_back(std::make_unique<Socket>(server.port()));
    ASSERT_TRUE(slow.back()->connected());
    ASSERT_TRUE(slow.back()->send_text("POST /api/2.0/mlflow/runs/log-metric HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  }
  auto trainer = client(server);
  for (int i = 0; i < 10; ++i) {
    for (auto& s : slow) ASSERT_TRUE(s->send_text("a"));  // still trickling
    const auto t0 = std::chrono::steady_clock::now();
    auto res = trainer->post("/api/2.0/mlflow/runs/create", "{}", "application/json", auth());
    ASSERT_TRUE(res.ok()) << "request " << i << " starved: " << res.status().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
  expect_healthy(server, /*token=*/true);
}

TEST_F(ServerHardeningTest, AFilterTooLongForTheDatabaseIsTheClientsErrorAndNamesNoPath) {
  testing::ServerProcess server(dir_, store_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  std::string filter = "metrics.a > 0";
  for (int i = 1; i < 1000; ++i) filter += " AND metrics.a" + std::to_string(i) + " > 0";
  auto res = client(server)->post("/api/2.0/mlflow/runs/search",
                                  json{{"experiment_ids", {"0"}}, {"filter", filter}}.dump());
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 400) << res->body;
  EXPECT_EQ(json::parse(res->body)["error_code"], "INVALID_PARAMETER_VALUE");
  EXPECT_EQ(res->body.find(dir_.string()), std::string::npos) << res->body;
  EXPECT_EQ(res->body.find("runs.db"), std::string::npos) << res->body;
  expect_healthy(server);
}

TEST_F(ServerHardeningTest, AShortOrBlankTokenIsRefused) {
  for (const char* token : {" ", "x", "fifteen-chars-x"}) {
    testing::ServerProcess server(dir_, store_, {"--token", token});
    EXPECT_TRUE(server.uri().empty()) << "accepted the token '" << token << "'";
    server.stop(SIGTERM);
  }
  testing::ServerProcess server(dir_, store_, {"--token", "sixteen-chars-ok"});
  EXPECT_FALSE(server.uri().empty()) << server.output();
}

// kill -9 during an upload leaves its temporary file; the next server on the
// same artifact root removes it.
TEST_F(ServerHardeningTest, AnUploadCutByKillNineLeavesNothingOnceTheServerIsBack) {
  const fs::path artifacts = dir_ / "artifacts";
  auto leftovers = [&] {
    std::vector<std::string> found;
    for (auto it = fs::recursive_directory_iterator(artifacts); it != fs::recursive_directory_iterator(); ++it) {
      const std::string name = it->path().filename().string();
      if (name.rfind(".wattlab-upload-", 0) == 0 && !it->is_directory()) found.push_back(it->path().string());
    }
    return found;
  };
  {
    testing::ServerProcess server(dir_, store_, {"--artifacts", artifacts.string()});
    ASSERT_FALSE(server.uri().empty()) << server.output();
    Socket upload(server.port());
    ASSERT_TRUE(upload.send_text("PUT /api/2.0/mlflow-artifacts/artifacts/0/r/artifacts/model.bin HTTP/1.1\r\n"
                                 "Host: x\r\nContent-Length: 10000000\r\n\r\n" + std::string(1'000'000, 'w')));
    for (int i = 0; i < 500 && leftovers().empty(); ++i) std::this_thread::sleep_for(10ms);
    ASSERT_FALSE(leftovers().empty()) << "the upload did not start";
    server.stop(SIGKILL);
  }
  ASSERT_FALSE(leftovers().empty());
  testing::ServerProcess again(dir_, store_, {"--artifacts", artifacts.string()});
  ASSERT_FALSE(again.uri().empty()) << again.output();
  EXPECT_EQ(leftovers(), std::vector<std::string>{});
  expect_healthy(again);
}

}  // namespace
}  // namespace wattlab
