// HttpServer and HttpClient on loopback: clients that hold connections
// without using them, bodies over the limit, the connection limit, and the
// HTTP details a trainer's client relies on.
#include "wattlab/server/http_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "wattlab/server/http_client.h"

namespace wattlab {
namespace {

using namespace std::chrono_literals;

// A raw TCP connection to the server, for what a well-behaved client never does.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  }
  ~RawConnection() { close(fd_); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return connected_; }
  bool send_text(const std::string& text) {
    return ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // What arrives within `wait` (until the server closes, or `until` is seen).
  std::string receive(std::chrono::milliseconds wait, const std::string& until = "") {
    std::string out;
    const auto deadline = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
      char buf[4096];
      const ssize_t n = recv(fd_, buf, sizeof(buf), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      out.append(buf, static_cast<size_t>(n));
      if (!until.empty() && out.find(until) != std::string::npos) break;
    }
    return out;
  }
  // True once receive() has seen the server close the connection.
  bool closed() const { return closed_; }

 private:
  int fd_ = -1;
  bool connected_ = false;
  bool closed_ = false;
};

HttpResponse text(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::move(body);
  return r;
}

// Echoes "<method> <path> <body>" with up to 100 body bytes; 413 beyond.
std::unique_ptr<HttpExchange> echo(const HttpRequest&) {
  return buffered_exchange(
      100, [](const HttpRequest& r) { return text(200, r.method + " " + r.path + " " + r.body); },
      [](const HttpRequest&) { return text(413, "too large"); });
}

// Holds the exchanges that wait() on it until open(): requests that must
// stay in flight.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return open_; });
  }
  void open() {
    {
      std::lock_guard lock(mu_);
      open_ = true;
    }
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void start(HttpHandler handler = echo, HttpServerOptions options = {}) {
    auto server = HttpServer::bind("127.0.0.1", 0, std::move(handler), std::move(options));
    ASSERT_TRUE(server.ok()) << server.status().to_string();
    server_ = std::move(server).value();
    serving_ = std::thread([this] { server_->serve(); });
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (serving_.joinable()) serving_.join();
  }
  int port() const { return server_->port(); }

  std::unique_ptr<HttpServer> server_;
  std::thread serving_;
};

TEST_F(HttpServerTest, IdleAndSlowConnectionsDoNotStarveOtherClients) {
  start();
  // Far more than a thread-per-connection server has threads: connections
  // that never send, that stay idle after a request, and that trickle a head.
  std::vector<std::unique_ptr<RawConnection>> squatters;
  for (int i = 0; i < 100; ++i) {
    squatters.push_back(std::make_unique<RawConnection>(port()));
    ASSERT_TRUE(squatters.back()->connected());
    if (i % 3 == 1) {
      ASSERT_TRUE(squatters.back()->send_text("GET /kept HTTP/1.1\r\nHost: x\r\n\r\n"));
      EXPECT_NE(squatters.back()->receive(2s, "GET /kept").find("200 OK"), std::string::npos);
    } else if (i % 3 == 2) {
      ASSERT_TRUE(squatters.back()->send_text("POST /slow HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
    }
  }
  HttpClient client("127.0.0.1", port());
  for (int i = 0; i < 20; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = client.post("/fresh", "hi");
    ASSERT_TRUE(res.ok()) << res.status().to_string();
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "POST /fresh hi");
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  }
}

TEST_F(HttpServerTest, AHeadThatDoesNotArriveInTimeEndsItsConnection) {
  HttpServerOptions options;
  options.header_timeout = 200ms;
  start(echo, options);
  RawConnection slow(port());
  ASSERT_TRUE(slow.send_text("GET /slow HTTP/1.1\r\nHo"));
  slow.receive(3s);
  EXPECT_TRUE(slow.closed());
}

TEST_F(HttpServerTest, AtTheConnectionLimitTheLongestWaitingMakesRoom) {
  HttpServerOptions options;
  options.max_connections = 3;
  start(echo, options);
  std::vector<std::unique_ptr<RawConnection>> idle;
  for (int i = 0; i < 3; ++i) {
    idle.push_back(std::make_unique<RawConnection>(port()));
    std::this_thread::sleep_for(20ms);  // distinct waiting times
  }
  HttpClient client("127.0.0.1", port());
  auto res = client.get("/newcomer");
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->status, 200);
  idle[0]->receive(2s);
  EXPECT_TRUE(idle[0]->closed()) << "the longest idle connection should have made room";
  idle[2]->receive(100ms);
  EXPECT_FALSE(idle[2]->closed());
}

TEST_F(HttpServerTest, WhenEveryConnectionIsBusyANewcomerGets503) {
  Gate gate;
  std::atomic<int> in_flight{0};
  HttpServerOptions options;
  options.max_connections = 2;
  start(
      [&](const HttpRequest&) {
        return buffered_exchange(
            100,
            [&](const HttpRequest&) {
              ++in_flight;
              gate.wait();
              return text(200, "done");
            },
            [](const HttpRequest&) { return text(413, ""); });
      },
      options);
  std::vector<std::thread> busy;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    busy.emplace_back([&] {
      HttpClient c("127.0.0.1", port());
      auto r = c.get("/busy");
      if (r.ok() && r->status == 200) ++ok;
    });
  }
  while (in_flight < 2) std::this_thread::sleep_for(5ms);
  HttpClient newcomer("127.0.0.1", port());
  auto refused = newcomer.get("/more");
  ASSERT_TRUE(refused.ok()) << refused.status().to_string();
  EXPECT_EQ(refused->status, 503);
  gate.open();
  for (auto& t : busy) t.join();
  EXPECT_EQ(ok, 2);
}

// Connections are dealt to lanes in turn: every request of a connection is
// answered by its lane's thread (no hand-over per request), and an exchange
// that blocks holds its lane only: the next connection, on the other lane,
// is answered meanwhile.
TEST_F(HttpServerTest, AConnectionStaysOnItsLaneAndABlockedLaneHoldsNoOtherLane) {
  Gate gate;
  std::atomic<bool> blocked{false};
  HttpServerOptions options;
  options.threads = 2;
  start(
      [&](const HttpRequest&) {
        return buffered_exchange(
            100,
            [&](const HttpRequest& r) {
              if (r.path == "/block") {
                blocked = true;
                gate.wait();
              }
              std::ostringstream thread;
              thread << std::this_thread::get_id();
              return text(200, thread.str());
            },
            [](const HttpRequest&) { return text(413, ""); });
      },
      options);
  HttpClient first("127.0.0.1", port());
  HttpClient second("127.0.0.1", port());
  std::set<std::string> first_threads, second_threads;
  for (int i = 0; i < 20; ++i) {
    auto a = first.get("/a");
    auto b = second.get("/b");
    ASSERT_TRUE(a.ok() && b.ok());
    first_threads.insert(a->body);
    second_threads.insert(b->body);
  }
  ASSERT_EQ(first_threads.size(), 1u) << "one connection's requests were answered by several threads";
  ASSERT_EQ(second_threads.size(), 1u);
  EXPECT_NE(*first_threads.begin(), *second_threads.begin()) << "two connections in a row share a lane";

  std::thread held([&] { EXPECT_TRUE(first.get("/block").ok()); });
  while (!blocked) std::this_thread::sleep_for(1ms);
  const auto t0 = std::chrono::steady_clock::now();
  auto answered = second.get("/b");
  ASSERT_TRUE(answered.ok()) << answered.status().to_string();
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  gate.open();
  held.join();
}

TEST_F(HttpServerTest, ADeclaredBodyOverTheLimitIsRefusedBeforeItIsSent) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.send_text("POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\nabc"));
  const std::string answer = c.receive(3s, "too large");
  EXPECT_NE(answer.find("HTTP/1.1 413"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
  // The server goes on.
  HttpClient client("127.0.0.1", port());
  auto res = client.get("/after");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, AChunkedBodyOverTheLimitIsRefusedWhileItArrives) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.send_text("POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(c.send_text("40\r\n" + std::string(64, 'x') + "\r\n"));
  const std::string answer = c.receive(3s, "too large");
  EXPECT_NE(answer.find("HTTP/1.1 413"), std::string::npos) << answer;
}

TEST_F(HttpServerTest, ABodyAtTheLimitIsWhole) {
  start();
  HttpClient client("127.0.0.1", port());
  auto res = client.post("/exact", std::string(100, 'b'));
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "POST /exact " + std::string(100, 'b'));
  // The client sends a body one byte over whole before reading: it still
  // gets the 413, and its next request a new connection.
  auto over = client.post("/over", std::string(101, 'b'));
  ASSERT_TRUE(over.ok()) << over.status().to_string();
  EXPECT_EQ(over->status, 413);
  auto next = client.get("/next");
  ASSERT_TRUE(next.ok()) << next.status().to_string();
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, ExpectContinueIsAnsweredBeforeTheBody) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.send_text("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
  EXPECT_EQ(c.receive(2s, "\r\n\r\n"), "HTTP/1.1 100 Continue\r\n\r\n");
  ASSERT_TRUE(c.send_text("hello"));
  EXPECT_NE(c.receive(2s, "hello").find("POST /x hello"), std::string::npos);
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  start();
  RawConnection c(port());
  ASSERT_TRUE(c.send_text("GET /one HTTP/1.1\r\nHost: x\r\n\r\nPOST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n"
                          "abcGET /three HTTP/1.1\r\nHost: x\r\n\r\n"));
  const std::string answers = c.receive(2s, "GET /three");
  const size_t one = answers.find("GET /one"), two = answers.find("POST /two abc"), three = answers.find("GET /three");
  ASSERT_NE(one, std::string::npos) << answers;
  ASSERT_NE(two, std::string::npos) << answers;
  ASSERT_NE(three, std::string::npos) << answers;
  EXPECT_LT(one, two);
  EXPECT_LT(two, three);
}

TEST_F(HttpServerTest, MalformedAndOversizedHeadsGetAnErrorAndTheServerGoesOn) {
  start();
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send_text("THIS IS NOT HTTP\r\n\r\n"));
    EXPECT_NE(c.receive(2s).find("HTTP/1.1 400"), std::string::npos);
  }
  {
    RawConnection c(port());
    ASSERT_TRUE(c.send_text("GET / HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n"));
    EXPECT_NE(c.receive(2s).find("HTTP/1.1 431"), std::string::npos);
  }
  HttpClient client("127.0.0.1", port());
  auto res = client.get("/fine");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->status, 200);
}

TEST_F(HttpServerTest, PathAndQueryArriveDecoded) {
  start([](const HttpRequest& head) {
    std::string query;
    for (const auto& [k, v] : head.query) query += "[" + k + "=" + v + "]";
    return buffered_exchange(
        0, [path = head.path, query](const HttpRequest&) { return text(200, path + " " + query); },
        [](const HttpRequest&) { return text(413, ""); });
  });
  HttpClient client("127.0.0.1", port());
  auto res = client.get("/a%2Fb%00c+d?x=1+2&y=%26%3D&flag&x=3");
  ASSERT_TRUE(res.ok());
  EXPECT_EQ(res->body, std::string("/a/b\0c+d", 8) + " [x=1 2][y=&=][flag=][x=3]");
}

TEST_F(HttpServerTest, AStreamedResponseArrivesWhole) {
  const std::string data = [] {
    std::string s(300'000, '\0');
    for (size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>(i * 7 % 251);
    return s;
  }();
  start([&data](const HttpRequest&) {
    return buffered_exchange(
        0,
        [&data](const HttpRequest&) {
          HttpResponse r;
          r.content_type = "application/octet-stream";
          r.streamed_size = static_cast<int64_t>(data.size());
          r.read_body = [&data](int64_t offset, char* out, size_t length) {
            const size_t n = std::min(length, data.size() - static_cast<size_t>(offset));
            std::copy_n(data.data() + offset, n, out);
            return static_cast<int64_t>(n);
          };
          return r;
        },
        [](const HttpRequest&) { return text(413, ""); });
  });
  HttpClient client("127.0.0.1", port());
  for (int i = 0; i < 2; ++i) {  // and the connection stays usable
    auto res = client.get("/file");
    ASSERT_TRUE(res.ok()) << res.status().to_string();
    EXPECT_EQ(res->header("content-type"), "application/octet-stream");
    EXPECT_TRUE(res->body == data);
  }
}

TEST_F(HttpServerTest, StopLetsTheRequestInFlightFinish) {
  std::atomic<bool> started{false};
  start([&](const HttpRequest&) {
    return buffered_exchange(
        0,
        [&](const HttpRequest&) {
          started = true;
          std::this_thread::sleep_for(300ms);
          return text(200, "finished");
        },
        [](const HttpRequest&) { return text(413, ""); });
  });
  Result<HttpResponse> res = Status::internal("not sent");
  std::thread client([&] {
    HttpClient c("127.0.0.1", port());
    res = c.get("/slow");
  });
  while (!started) std::this_thread::sleep_for(5ms);
  server_->stop();
  serving_.join();
  client.join();
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "finished");
  EXPECT_EQ(res->header("Connection"), "close");
}

TEST_F(HttpServerTest, TheClientReconnectsWhenTheServerClosedAnIdleConnection) {
  HttpServerOptions options;
  options.idle_timeout = 100ms;
  start(echo, options);
  HttpClient client("127.0.0.1", port());
  ASSERT_TRUE(client.get("/first").ok());
  std::this_thread::sleep_for(400ms);  // the server has closed the connection
  auto res = client.post("/second", "x");
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "POST /second x");
}

TEST(HttpClient, AServerThatIsNotThereIsUnavailable) {
  // Bind and close a port so that nothing listens on it.
  int port = 0;
  {
    auto server = HttpServer::bind("127.0.0.1", 0, echo);
    ASSERT_TRUE(server.ok());
    port = (*server)->port();
  }
  HttpClient client("127.0.0.1", port);
  auto res = client.get("/");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(res.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos);
}

// io_timeout bounds the whole request: a server that never answers, and one
// that sends half an answer and stalls, both end in an IoError that says so,
// on time; a request on a new connection afterwards works.
TEST(HttpClient, ARequestEndsWithinItsTimeoutWhenTheServerStalls) {
  const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(listener, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof address;
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  // Connection 1 gets nothing back; connection 2 half an answer; connection
  // 3 a whole one.
  std::thread server([listener] {
    std::vector<int> held;
    for (const char* answer : {"", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12345",
                               "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"}) {
      const int c = ::accept(listener, nullptr, nullptr);
      if (c < 0) return;
      char request[4096];
      (void)!::recv(c, request, sizeof request, 0);
      (void)!::send(c, answer, std::strlen(answer), MSG_NOSIGNAL);
      held.push_back(c);
    }
    for (int c : held) ::close(c);
  });
  HttpClientOptions options;
  options.io_timeout = 300ms;
  HttpClient client("127.0.0.1", ntohs(address.sin_port), options);
  for (const char* what : {"no answer", "half an answer"}) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = client.get("/");
    const auto waited = std::chrono::steady_clock::now() - t0;
    ASSERT_FALSE(res.ok()) << what;
    EXPECT_EQ(res.status().code(), Status::Code::kIoError) << what;
    EXPECT_NE(res.status().message().find("no answer within 300 ms"), std::string::npos) << res.status().to_string();
    EXPECT_GE(waited, 290ms) << what;
    EXPECT_LT(waited, 3s) << what;
  }
  auto res = client.get("/");
  ASSERT_TRUE(res.ok()) << res.status().to_string();
  EXPECT_EQ(res->body, "ok");
  server.join();
  ::close(listener);
}

// What a tracking client relies on: the bearer token of connect(), files
// streamed up and down, a download that fails leaving nothing behind.
TEST_F(HttpServerTest, ConnectedClientsSendTheTokenAndTransferFiles) {
  std::mutex mu;
  std::string received;  // the last PUT's body
  start([&](const HttpRequest&) {
    return buffered_exchange(
        1 << 20,
        [&](const HttpRequest& r) {
          if (r.header("Authorization") != "Bearer t0ken") return text(401, "no token");
          if (r.method == "PUT") {
            std::lock_guard lock(mu);
            received = r.body;
            return text(200, "stored");
          }
          if (r.path == "/file") {
            std::lock_guard lock(mu);
            return text(200, received);
          }
          return text(404, "no " + r.path);
        },
        [](const HttpRequest&) { return text(413, "too large"); });
  });
  auto client = HttpClient::connect("http://127.0.0.1:" + std::to_string(port()) + "/", "t0ken");
  ASSERT_TRUE(client.ok()) << client.status().to_string();
  EXPECT_EQ((*client)->uri(), "http://127.0.0.1:" + std::to_string(port()));

  const auto dir = std::filesystem::temp_directory_path() / ("http_client_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::string bytes;
  for (int i = 0; i < 300'000; ++i) bytes.push_back(static_cast<char>(i * 7));
  { std::ofstream(dir / "up.bin", std::ios::binary) << bytes; }
  auto put = (*client)->put_file("/file", (dir / "up.bin").string());
  ASSERT_TRUE(put.ok()) << put.status().to_string();
  EXPECT_EQ(put->status, 200) << put->body;
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(received, bytes);
  }
  EXPECT_EQ((*client)->put_file("/file", (dir / "missing.bin").string()).status().code(), Status::Code::kNotFound);

  auto got = (*client)->get_to_file("/file", (dir / "down.bin").string());
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->status, 200);
  EXPECT_TRUE(got->body.empty());
  std::ifstream in(dir / "down.bin", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), bytes);
  EXPECT_FALSE(std::filesystem::exists(dir / "down.bin.part"));

  auto missing = (*client)->get_to_file("/other", (dir / "other.bin").string());
  ASSERT_TRUE(missing.ok()) << missing.status().to_string();
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "no /other");
  EXPECT_FALSE(std::filesystem::exists(dir / "other.bin"));
  EXPECT_FALSE(std::filesystem::exists(dir / "other.bin.part"));
  std::filesystem::remove_all(dir);

  for (const char* bad : {"https://h:1", "h:1", "http://h:1/path", "http://h:70000", "http://h:x"}) {
    EXPECT_EQ(HttpClient::connect(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

TEST(HttpMessage, PercentEncodingRoundTrips) {
  const std::string raw = std::string("a b/c?d=e&f%g\0h\xff", 16);
  EXPECT_EQ(percent_encode(raw), "a%20b%2Fc%3Fd%3De%26f%25g%00h%FF");
  EXPECT_EQ(percent_decode(percent_encode(raw), false), raw);
  EXPECT_EQ(percent_decode("100%", false), "100%");  // malformed escapes stay
  EXPECT_EQ(percent_decode("%zz%4", false), "%zz%4");
  EXPECT_EQ(percent_encode("a b/c", /*keep_slashes=*/true), "a%20b/c");
  EXPECT_EQ(query_string({{"run_id", "r 1"}, {"a&b", "x=y"}}), "a%26b=x%3Dy&run_id=r%201");
  EXPECT_EQ(find_header({{"Content-Type", "a"}, {"X", "b"}}, "content-type"), "a");
  EXPECT_EQ(find_header({{"X", "b"}}, "Y"), "");
}

}  // namespace
}  // namespace wattlab
