#include "wattlab/cli/config_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>

namespace wattlab::cli {
namespace {

// A few options of each kind `wattlab train` has.
struct Settings {
  std::string model = "cnn";
  int64_t batch_size = 64;
  double lr = 1e-3;
  uint64_t seed = 42;
  bool nesterov = false;
  std::vector<double> mean;
  std::string data_dir = "/data";
  std::string config;
};

void add_options(CLI::App& app, Settings& s) {
  app.add_option("--model", s.model)->capture_default_str();
  app.add_option("--batch-size", s.batch_size)->capture_default_str();
  app.add_option("--lr", s.lr)->capture_default_str();
  app.add_option("--seed", s.seed)->capture_default_str();
  app.add_flag("--nesterov", s.nesterov);
  app.add_option("--mean", s.mean)->delimiter(',');
  app.add_option("--data,--data-dir", s.data_dir)->capture_default_str();
  app.add_option("--config", s.config);
}

class ConfigFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("wattlab-config-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string write(const std::string& text) {
    const std::string path = (dir_ / "f.yaml").string();
    std::ofstream(path) << text;
    return path;
  }

  // Parses `args` (after the program name), then applies the file at `path`.
  Status run(const std::string& path, std::vector<std::string> args, Settings& s, CLI::App& app) {
    add_options(app, s);
    std::reverse(args.begin(), args.end());
    app.parse(args);
    auto file = ConfigFile::read(path);
    if (!file.ok()) return file.status();
    file_ = *file;
    return file_.apply(app, {"config"});
  }

  std::filesystem::path dir_;
  ConfigFile file_;
};

TEST_F(ConfigFileTest, FileSetsFlagsAndTheCommandLineWins) {
  const std::string path = write(
      "# a study's settings\n"
      "model: resnet18\n"
      "batch-size: 128\n"
      "lr: 0.05\n"
      "seed: 7\n"
      "nesterov: true\n"
      "mean: [0.25, 0.5, 0.75]\n"
      "data-dir: /srv/cifar\n");
  Settings s;
  CLI::App app("t", "train");
  ASSERT_TRUE(run(path, {"--batch-size", "32", "--model=vgg11"}, s, app).ok());
  EXPECT_EQ(s.model, "vgg11");  // command line
  EXPECT_EQ(s.batch_size, 32);  // command line
  EXPECT_EQ(s.lr, 0.05);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_TRUE(s.nesterov);
  EXPECT_EQ(s.mean, (std::vector<double>{0.25, 0.5, 0.75}));
  EXPECT_EQ(s.data_dir, "/srv/cifar");  // through the flag's alias
}

TEST_F(ConfigFileTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string text;
    std::string message;  // after "<path>:"
  };
  const Case cases[] = {
      {"model: cnn\nbatch-size: abc\n", "2: batch-size must be an integer (got 'abc')"},
      {"lr: fast\n", "1: lr must be a number (got 'fast')"},
      {"seed: -3\n", "1: seed must be a non-negative integer (got '-3')"},
      {"nesterov: maybe\n", "1: nesterov must be true or false (got 'maybe')"},
      {"\n\nbatchsize: 12\n",
       "3: unknown key 'batchsize': wattlab train has no --batchsize (keys are its flags without the dashes; see "
       "wattlab train --help)"},
      {"config: other.yaml\n", "1: config cannot be set in a config file (give --config on the command line)"},
      {"model: [cnn, vgg11]\n", "1: model takes one value (got a list of 2)"},
      {"model:\n", "1: model has no value (write \"model: VALUE\", or remove the line to keep the default)"},
      {"model: cnn\nmodel: vgg11\n", "2: model is given twice"},
      {"model:\n  name: cnn\n", "1: model must be a value or a list of values, not a mapping"},
      {"- model\n", "1: the file must be a mapping of flag names to values (\"batch-size: 128\")"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    const std::string path = write(c.text);
    Settings s;
    CLI::App app("t", "train");
    Status status = run(path, {}, s, app);
    EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
    EXPECT_EQ(status.message(), path + ":" + c.message);
  }
  // A YAML syntax error: its line and the parser's words.
  Settings s;
  CLI::App app("t", "train");
  const std::string path = write("model: cnn\nlr: [0.1\n");
  Status status = run(path, {}, s, app);
  EXPECT_EQ(status.message().rfind(path + ":", 0), 0u) << status.message();
  EXPECT_NE(status.message().find("not valid YAML"), std::string::npos) << status.message();
  EXPECT_EQ(ConfigFile::read((dir_ / "none.yaml").string()).status().code(), Status::Code::kNotFound);
}

TEST_F(ConfigFileTest, LocateGivesTheLineOfTheKeyThatSetTheFlag) {
  const std::string path = write("model: cnn\nbatch-size: 0\ndata-dir: ''\n");
  Settings s;
  CLI::App app("t", "train");
  ASSERT_TRUE(run(path, {"--lr", "-1"}, s, app).ok());
  EXPECT_EQ(file_.locate(Status::invalid_argument("--batch-size must be at least 1 (got 0)")).message(),
            path + ":2: batch-size must be at least 1 (got 0)");
  // Checks name a flag by its first name; the file used the alias.
  EXPECT_EQ(file_.locate(Status::invalid_argument("--data must be a folder")).message(),
            path + ":3: data-dir must be a folder");
  // From the command line: left as it is.
  EXPECT_EQ(file_.locate(Status::invalid_argument("--lr must be a positive number (got -1)")).message(),
            "--lr must be a positive number (got -1)");
}

TEST_F(ConfigFileTest, ResolvedConfigReadsBackToTheSameSettings) {
  const std::string path = write("batch-size: 128\nmean: [0.25, 0.5]\nnesterov: true\n");
  Settings s;
  CLI::App app("t", "train");
  ASSERT_TRUE(run(path, {"--model", "vgg 11", "--config", path}, s, app).ok());
  const std::string yaml = resolved_config_yaml(app, {"config"});
  EXPECT_EQ(yaml,
            "model: vgg 11\n"
            "batch-size: 128\n"
            "lr: 0.001\n"
            "seed: 42\n"
            "nesterov: true\n"
            "mean: [0.25, 0.5]\n"
            "data: /data\n");

  const std::string again = write(yaml);
  Settings t;
  CLI::App app2("t", "train");
  ASSERT_TRUE(run(again, {}, t, app2).ok());
  EXPECT_EQ(t.model, "vgg 11");
  EXPECT_EQ(t.batch_size, 128);
  EXPECT_EQ(t.lr, 0.001);
  EXPECT_TRUE(t.nesterov);
  EXPECT_EQ(t.mean, (std::vector<double>{0.25, 0.5}));
  EXPECT_EQ(resolved_config_yaml(app2, {"config"}), yaml);
}

}  // namespace
}  // namespace wattlab::cli
