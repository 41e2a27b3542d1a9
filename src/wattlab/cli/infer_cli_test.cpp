// End-to-end tests of `wattlab infer` and `wattlab models`, which need
// LibTorch: the evaluation is metered and recorded as a run, and a model kept
// on a tracking server's artifact store is fetched from there.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "wattlab/cli/cli_testing.h"
#include "wattlab/cli/server_process_testing.h"
#include "wattlab/track/store.h"

namespace wattlab {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

#ifdef WATTLAB_HAVE_TORCH

using InferCliTest = testing::CliTest;

TEST_F(InferCliTest, TheEvaluationIsMeteredAndRecordedWhereTheTrainedRunIs) {
  const fs::path data = dir_ / "images";
  testing::write_image_folder(data, 16, 4);
  testing::ServerProcess server(dir_, store_);
  ASSERT_FALSE(server.uri().empty()) << server.output();
  // Trained through the server; its files land in the server's artifact folder.
  auto trained = wattlab("train --dataset folder --data " + data.string() +
                         " --resize 16 --epochs 1 --batch-size 8 --quiet --tracking-uri " + server.uri() +
                         " --artifacts " + server.artifacts_dir() + " --experiment vision");
  ASSERT_EQ(trained.exit_code, 0) << trained.err;
  auto listed = wattlab("runs ls --format json --tracking-uri " + server.uri());
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const std::string trained_id = json::parse(listed.out)[0]["run_id"];

  // No --artifacts: the model comes through the server's artifact proxy.
  auto r = wattlab("infer --run " + trained_id.substr(0, 8) + " --format json --tracking-uri " + server.uri());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  json out = json::parse(r.out);
  EXPECT_FALSE(out.contains("seconds")) << "every key says its unit";
  EXPECT_EQ(out["trained_run_id"], trained_id);
  EXPECT_EQ(out["images"], 8);
  EXPECT_GT(out["duration_s"].get<double>(), 0);
  EXPECT_GT(out["energy_j"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(out["energy_per_image_j"].get<double>(), out["energy_j"].get<double>() / 8);
  EXPECT_TRUE(out["energy"] == "measured" || out["energy"] == "estimated") << out.dump();
  EXPECT_EQ(out["energy_estimated"], out["energy"] == "estimated");
  EXPECT_GT(out["co2e_g"].get<double>(), 0);

  // The evaluation is a run of its own, in the trained run's experiment.
  auto shown = wattlab("runs show " + out["run_id"].get<std::string>() + " --format json --tracking-uri " + server.uri());
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  json run = json::parse(shown.out);
  EXPECT_EQ(run["status"], "FINISHED");
  EXPECT_EQ(run["tags"]["wattlab.run_kind"], "inference");
  EXPECT_EQ(run["params"]["trained_run_id"], trained_id);
  EXPECT_EQ(run["metrics"]["energy_j"]["value"], out["energy_j"]);
  EXPECT_EQ(run["metrics"]["accuracy"]["value"], out["accuracy"]);
  ASSERT_EQ(run["energy_windows"].size(), 1u);
  EXPECT_EQ(run["energy_windows"][0]["name"], "inference");
  EXPECT_DOUBLE_EQ(run["derived"]["energy_per_image_j"].get<double>(), out["energy_per_image_j"].get<double>());
  auto trained_run = json::parse(wattlab("runs show " + trained_id + " --format json --tracking-uri " + server.uri()).out);
  EXPECT_EQ(run["experiment_id"], trained_run["experiment_id"]);
  EXPECT_EQ(out["accuracy"], trained_run["metrics"]["accuracy"]["value"]) << "the saved model is the trained one";

  auto text = wattlab("infer --run " + trained_id + " --tracking-uri " + server.uri());
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("recorded as run "), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(" J/image)"), std::string::npos) << text.out;
}

// Counting every model takes ~10 s: the new format only (table and json were there before).
TEST_F(InferCliTest, ModelsListAsCsv) {
  auto csv = wattlab("models ls --format csv");
  ASSERT_EQ(csv.exit_code, 0) << csv.err;
  EXPECT_EQ(csv.out.substr(0, csv.out.find('\n')), "name,family,params,macs,summary");
  EXPECT_NE(csv.out.find("\nresnet18,"), std::string::npos) << csv.out;
  EXPECT_GT(testing::count_lines(csv.out), 10);
  EXPECT_EQ(csv.err, "") << "no progress bar when stderr is not a terminal";
}

#endif

}  // namespace
}  // namespace wattlab
