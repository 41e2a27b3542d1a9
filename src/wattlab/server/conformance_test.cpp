// Data-driven conformance tests of the REST API: every testdata/*.json file is
// a sequence of HTTP requests and expected responses, replayed against a live
// server on an ephemeral loopback port (a fresh in-memory store per file).
//
// File format:
//   {"server": {"token": "...",                       optional
//               "artifacts": true,                    serve artifacts from a fresh root
//               "max_artifact_bytes": 1000, "max_body_bytes": 500},
//    "headers": {"Authorization": "Bearer ..."},       optional, sent with every case
//    "cases": [
//      {"name": "what this checks",
//       "fs": [{"mkdir": "a/b"}, {"write": "a/f.txt", "content": "x"},      optional, done before
//              {"symlink": "a/l", "to": "${outside}"}, {"fifo": "a/p"}],   the request; paths are
//                                                     relative to the artifact root
//       "request": {"method": "POST", "path": "/api/2.0/mlflow/runs/create",   optional
//                   "body": {...}            JSON body, or
//                   "body_raw": "text"       sent as is, or
//                   "body_bytes": 17000000   that many 'x' bytes,
//                   "headers": {...}},
//       "expect": {"status": 200,
//                  "json": {...},            subset match: objects need the keys given,
//                                            arrays match element by element (same length);
//                                            "$any" matches any present value
//                  "absent": ["run.data.params"],
//                  "body": "raw text",       the exact body (then it need not be JSON)
//                  "body_contains": ["..."], substrings of a non-JSON body
//                  "headers": {"Content-Type": "text/plain"},
//                  "files": {"a/f.txt": "x", "a/g": null}},  artifact root contents afterwards
//                                                            (null: nothing there)
//       "capture": {"run_id": "run.info.run_id"},   save a value for later cases
//       "repeat": 3}                         send the request this many times
//   ]}
// "${name}" inside any string of a request or an expectation is replaced by a
// captured value; a string that is exactly "${name}" becomes the captured JSON
// value itself (a number stays a number). With artifacts, "${artifacts}" is the
// artifact root and "${outside}" a folder beside it holding secret.txt; after
// the last case the runner checks that the outside folder is exactly as it
// was, that nothing else appeared beside the root, and that no unfinished
// upload is left in the root.
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "wattlab/server/http_client.h"
#include "wattlab/server/tracking_server.h"
#include "wattlab/track/sqlite_store.h"

namespace wattlab {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::vector<std::string> conformance_files() {
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(WATTLAB_SERVER_TESTDATA))
    if (entry.path().extension() == ".json") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

// The value at a dotted path ("runs.0.info.run_id"); nullptr when absent.
const json* at_path(const json& root, const std::string& path) {
  const json* node = &root;
  std::stringstream in(path);
  std::string part;
  while (std::getline(in, part, '.')) {
    if (node->is_object()) {
      auto it = node->find(part);
      if (it == node->end()) return nullptr;
      node = &*it;
    } else if (node->is_array()) {
      char* end = nullptr;
      unsigned long i = std::strtoul(part.c_str(), &end, 10);
      if (part.empty() || *end != '\0' || i >= node->size()) return nullptr;
      node = &(*node)[i];
    } else {
      return nullptr;
    }
  }
  return node;
}

json substitute(const json& j, const std::map<std::string, json>& vars) {
  if (j.is_string()) {
    std::string s = j.get<std::string>();
    if (s.size() > 3 && s.rfind("${", 0) == 0 && s.back() == '}' && s.find('}') == s.size() - 1) {
      auto it = vars.find(s.substr(2, s.size() - 3));
      if (it != vars.end()) return it->second;
    }
    for (const auto& [name, value] : vars) {
      const std::string token = "${" + name + "}";
      const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
      for (size_t pos; (pos = s.find(token)) != std::string::npos;) s.replace(pos, token.size(), text);
    }
    return s;
  }
  if (j.is_object() || j.is_array()) {
    json out = j;
    for (auto it = out.begin(); it != out.end(); ++it) *it = substitute(*it, vars);
    return out;
  }
  return j;
}

// Empty when `actual` matches `expected` (see the file format); otherwise
// where and why it does not.
std::string json_mismatch(const json& expected, const json& actual, const std::string& where) {
  if (expected.is_string() && expected.get<std::string>() == "$any") return "";
  if (expected.is_object()) {
    if (!actual.is_object()) return where + ": expected an object, got " + actual.dump();
    for (const auto& [key, value] : expected.items()) {
      auto it = actual.find(key);
      if (it == actual.end()) return where + "." + key + ": missing";
      std::string m = json_mismatch(value, *it, where + "." + key);
      if (!m.empty()) return m;
    }
    return "";
  }
  if (expected.is_array()) {
    if (!actual.is_array() || actual.size() != expected.size())
      return where + ": expected " + std::to_string(expected.size()) + " elements, got " + actual.dump().substr(0, 400);
    for (size_t i = 0; i < expected.size(); ++i) {
      std::string m = json_mismatch(expected[i], actual[i], where + "." + std::to_string(i));
      if (!m.empty()) return m;
    }
    return "";
  }
  if (expected.is_number() && actual.is_number()) {
    return expected.get<double>() == actual.get<double>() ? "" : where + ": expected " + expected.dump() + ", got " + actual.dump();
  }
  return expected == actual ? "" : where + ": expected " + expected.dump() + ", got " + actual.dump().substr(0, 400);
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Files and folders below `dir` (not following symlinks), relative, sorted,
// folders with a trailing '/', symlinks with " -> target".
std::vector<std::string> tree(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    std::string rel = fs::relative(it->path(), dir).string();
    if (it->is_symlink()) rel += " -> " + fs::read_symlink(it->path()).string();
    else if (it->is_directory()) rel += "/";
    out.push_back(rel);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class ArtifactSandbox {
 public:
  ArtifactSandbox() {
    base_ = fs::temp_directory_path() / ("wattlab-conformance-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::remove_all(base_);
    fs::create_directories(outside());
    std::ofstream(outside() / "secret.txt") << kSecret;
  }
  ~ArtifactSandbox() { fs::remove_all(base_); }
  fs::path root() const { return base_ / "artifacts"; }
  fs::path outside() const { return base_ / "outside"; }
  static constexpr const char* kSecret = "do not touch\n";

  // Runs one "fs" action.
  void apply(const json& action) {
    if (action.contains("mkdir")) {
      fs::create_directories(root() / action["mkdir"].get<std::string>());
    } else if (action.contains("write")) {
      fs::path p = root() / action["write"].get<std::string>();
      fs::create_directories(p.parent_path());
      std::ofstream(p, std::ios::binary) << action.value("content", "");
    } else if (action.contains("symlink")) {
      fs::path p = root() / action["symlink"].get<std::string>();
      fs::create_directories(p.parent_path());
      fs::create_symlink(action.at("to").get<std::string>(), p);
    } else if (action.contains("fifo")) {
      fs::path p = root() / action["fifo"].get<std::string>();
      fs::create_directories(p.parent_path());
      ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0) << p;
    } else {
      FAIL() << "unknown fs action " << action.dump();
    }
  }

  // Empty when nothing outside the root changed and no upload is left half-done.
  std::string violations() const {
    std::string out;
    std::vector<std::string> beside = tree(base_);
    std::vector<std::string> expected_outside = {"secret.txt"};
    if (tree(outside()) != expected_outside) out += "the outside folder changed; ";
    if (read_file(outside() / "secret.txt") != kSecret) out += "outside/secret.txt changed; ";
    for (const auto& entry : fs::directory_iterator(base_)) {
      std::string name = entry.path().filename().string();
      if (name != "artifacts" && name != "outside") out += "unexpected " + name + " beside the root; ";
    }
    for (const auto& entry : tree(root()))
      if (entry.find(".wattlab-upload-") != std::string::npos && entry != ".wattlab-upload-staging/")
        out += "unfinished upload " + entry + "; ";
    return out;
  }

 private:
  static inline int counter_ = 0;
  fs::path base_;
};

class ConformanceTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ConformanceTest, File) {
  const fs::path path = fs::path(WATTLAB_SERVER_TESTDATA) / GetParam();
  std::ifstream in(path);
  ASSERT_TRUE(in) << "cannot read " << path;
  json spec = json::parse(in, nullptr, false);
  ASSERT_FALSE(spec.is_discarded()) << path << " is not valid JSON";

  FakeClock clock(0, 1'700'000'000'000);
  auto store = SqliteStore::open(":memory:", &clock);
  ASSERT_TRUE(store.ok()) << store.status().to_string();
  ServerOptions options;
  options.port = 0;
  std::map<std::string, json> vars;
  std::unique_ptr<ArtifactSandbox> sandbox;
  if (spec.contains("server")) {
    const json& server_spec = spec["server"];
    options.token = server_spec.value("token", "");
    options.max_body_bytes = server_spec.value("max_body_bytes", options.max_body_bytes);
    options.max_artifact_bytes = server_spec.value("max_artifact_bytes", options.max_artifact_bytes);
    if (server_spec.value("artifacts", false)) {
      sandbox = std::make_unique<ArtifactSandbox>();
      options.artifacts_dir = sandbox->root().string();
      vars["artifacts"] = sandbox->root().string();
      vars["outside"] = sandbox->outside().string();
    }
  }
  auto server = TrackingServer::bind(store->get(), options, &clock);
  ASSERT_TRUE(server.ok()) << server.status().to_string();
  (*server)->start_background();

  HttpClientOptions client_options;
  client_options.io_timeout = std::chrono::seconds(30);
  HttpClient client("127.0.0.1", (*server)->port(), client_options);

  int index = 0;
  for (const json& raw_case : spec.at("cases")) {
    ++index;
    const json c = substitute(raw_case, vars);
    const std::string label = GetParam() + " case " + std::to_string(index) + " (" + c.value("name", "") + ")";
    if (c.contains("fs")) {
      ASSERT_TRUE(sandbox) << label << ": fs actions need \"artifacts\": true";
      for (const auto& action : c["fs"]) {
        sandbox->apply(action);
        if (HasFatalFailure()) return;
      }
    }
    if (!c.contains("request")) continue;
    const json& req = c.at("request");
    // Case headers override file headers; an empty value sends no header.
    std::map<std::string, std::string> header_map;
    const json* file_headers = spec.contains("headers") ? &spec["headers"] : nullptr;
    const json* case_headers = req.contains("headers") ? &req["headers"] : nullptr;
    for (const json* h : {file_headers, case_headers}) {
      if (h)
        for (const auto& [k, v] : h->items()) header_map[k] = v.get<std::string>();
    }
    HttpHeaders headers;
    for (const auto& [k, v] : header_map)
      if (!v.empty()) headers.emplace_back(k, v);
    std::string body;
    if (req.contains("body")) body = req["body"].dump();
    else if (req.contains("body_raw")) body = req["body_raw"].get<std::string>();
    else if (req.contains("body_bytes")) body.assign(req["body_bytes"].get<size_t>(), 'x');
    const std::string method = req.value("method", "GET");
    const std::string target = req.at("path").get<std::string>();

    const int repeat = c.value("repeat", 1);
    Result<HttpResponse> result = Status::internal("no request sent");
    for (int r = 0; r < repeat; ++r) {
      result = client.request(method, target, body, method == "GET" ? "" : "application/json", headers);
    }
    ASSERT_TRUE(result.ok()) << label << ": no response (" << result.status().to_string() << ")";
    const json& expect = c.at("expect");
    EXPECT_EQ(result->status, expect.value("status", 200)) << label << "\n  body: " << result->body.substr(0, 500);
    if (expect.contains("headers")) {
      for (const auto& [k, v] : expect["headers"].items()) {
        EXPECT_EQ(result->header(k), v.get<std::string>()) << label << ": header " << k;
      }
    }
    if (expect.contains("files")) {
      ASSERT_TRUE(sandbox) << label << ": \"files\" needs \"artifacts\": true";
      for (const auto& [raw_rel, content] : expect["files"].items()) {
        const std::string rel = substitute(raw_rel, vars).get<std::string>();  // keys are not substituted above
        const fs::path p = sandbox->root() / rel;
        struct stat st {};
        const bool exists = ::lstat(p.c_str(), &st) == 0;
        if (content.is_null()) {
          EXPECT_FALSE(exists) << label << ": " << rel << " should not exist";
        } else {
          EXPECT_TRUE(exists && S_ISREG(st.st_mode)) << label << ": " << rel << " should be a file";
          EXPECT_EQ(read_file(p), content.get<std::string>()) << label << ": content of " << rel;
        }
      }
    }
    if (expect.contains("body") || expect.contains("body_contains")) {
      if (expect.contains("body")) {
        EXPECT_EQ(result->body, expect["body"].get<std::string>()) << label;
      }
      for (const auto& part : expect.value("body_contains", json::array())) {
        EXPECT_NE(result->body.find(part.get<std::string>()), std::string::npos)
            << label << ": body lacks " << part << "\n  body: " << result->body.substr(0, 800);
      }
      continue;
    }
    json actual = json::parse(result->body, nullptr, false);
    ASSERT_FALSE(actual.is_discarded()) << label << ": response is not JSON: " << result->body.substr(0, 200);
    if (expect.contains("json")) {
      std::string m = json_mismatch(expect["json"], actual, "$");
      EXPECT_TRUE(m.empty()) << label << ": " << m << "\n  body: " << result->body.substr(0, 800);
    }
    if (expect.contains("absent")) {
      for (const auto& p : expect["absent"]) {
        EXPECT_EQ(at_path(actual, p.get<std::string>()), nullptr) << label << ": " << p << " should be absent";
      }
    }
    if (c.contains("capture")) {
      for (const auto& [name, p] : c["capture"].items()) {
        const json* v = at_path(actual, p.get<std::string>());
        ASSERT_NE(v, nullptr) << label << ": cannot capture " << p << " from " << result->body.substr(0, 300);
        vars[name] = *v;
      }
    }
  }
  EXPECT_GT(index, 0) << path << " has no cases";
  // Whatever came before, the server still answers.
  auto health = client.get("/health", spec.contains("headers") ? HttpHeaders{{"Authorization", spec["headers"].value("Authorization", "")}} : HttpHeaders{});
  ASSERT_TRUE(health.ok()) << health.status().to_string();
  EXPECT_EQ(health->status, 200);
  if (sandbox) {
    EXPECT_EQ(sandbox->violations(), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Testdata, ConformanceTest, ::testing::ValuesIn(conformance_files()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param.substr(0, info.param.size() - 5);
                           for (char& ch : name)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return name;
                         });

}  // namespace
}  // namespace wattlab
