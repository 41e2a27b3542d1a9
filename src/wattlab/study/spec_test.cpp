#include "wattlab/study/spec.h"

#include <gtest/gtest.h>

#include "wattlab/study/study_testing.h"

namespace wattlab {
namespace {

const char* kSpec = R"(name: green-cv
experiment: green-cv-exp
dataset:
  data: /usr/share/datasets/fashion-mnist
  subset: 2000
train:
  optimizer: adam
epochs: 3
early-stopping: {patience: 2, min-delta: 0.01}
budget: {energy: 50kJ}
carbon: FRA
models:
  - model: cnn
  - {model: mobilenet_v2, width-multiplier: 0.35}
  - {model: resnet18, name: r18, lr: 0.01}
environments:
  - name: 1-thread
    threads: 1
    batch-size: 64
    slurm: {partition: cpu, cpus: 1, gres: "gpu:1"}
  - {name: 2-threads, threads: 2}
repetitions: 4
order: grouped
order-seed: 7
seed: 10
idle-baseline: 30s
warmup: {steps: 50, model: r18}
cooldown: {until-idle-within: 10%, max: 2min}
)";

Result<StudySpec> parse(const std::string& text) {
  TestFlagChecker checker;
  return parse_study_spec("s.yaml", text, checker);
}

// The message of parsing `text`, which must fail.
std::string error_of(const std::string& text) {
  auto spec = parse(text);
  EXPECT_FALSE(spec.ok()) << text;
  return spec.ok() ? "" : spec.status().message();
}

TEST(StudySpecTest, ReadsEveryPartOfAValidSpec) {
  auto spec = parse(kSpec);
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  EXPECT_EQ(spec->name, "green-cv");
  EXPECT_EQ(spec->experiment, "green-cv-exp");
  EXPECT_EQ(spec->hash.size(), 16u);
  ASSERT_EQ(spec->models.size(), 3u);
  EXPECT_EQ(spec->models[0].name, "cnn");
  EXPECT_EQ(spec->models[1].name, "mobilenet_v2-x0.35");
  EXPECT_EQ(spec->models[2].name, "r18");
  EXPECT_EQ(spec->models[2].settings.at("lr").values.front(), "0.01");
  ASSERT_EQ(spec->environments.size(), 2u);
  EXPECT_EQ(spec->environments[0].slurm.partition, "cpu");
  EXPECT_EQ(spec->environments[0].slurm.gres, "gpu:1");
  EXPECT_EQ(spec->environments[0].slurm.cpus, 1);
  EXPECT_EQ(spec->environments[1].settings.at("threads").values.front(), "2");
  // Top-level training keys become train flags, with the line that set them.
  EXPECT_EQ(spec->common.at("epochs").values.front(), "3");
  EXPECT_EQ(spec->common.at("early-stopping").values.front(), "2");
  EXPECT_EQ(spec->common.at("min-delta").values.front(), "0.01");
  EXPECT_EQ(spec->common.at("energy-budget").values.front(), "50kJ");
  EXPECT_EQ(spec->common.at("subset").line, 5);
  EXPECT_EQ(spec->repetitions, 4);
  EXPECT_EQ(spec->order, TrialOrder::kGrouped);
  EXPECT_EQ(spec->order_seed, 7u);
  EXPECT_EQ(spec->seed, 10u);
  EXPECT_EQ(spec->idle_baseline_s, 30);
  ASSERT_TRUE(spec->warmup);
  EXPECT_EQ(spec->warmup->steps, 50);
  EXPECT_EQ(spec->warmup->model, "r18");
  ASSERT_TRUE(spec->cooldown);
  EXPECT_DOUBLE_EQ(*spec->cooldown->idle_within, 0.10);
  EXPECT_EQ(spec->cooldown->max_s, 120);
}

TEST(StudySpecTest, DefaultsNeedOnlyNameModelsAndEnvironments) {
  auto spec = parse("name: s\nmodels: [{model: cnn}]\nenvironments: [{name: e}]\n");
  ASSERT_TRUE(spec.ok()) << spec.status().to_string();
  EXPECT_EQ(spec->experiment, "s");
  EXPECT_EQ(spec->repetitions, 1);
  EXPECT_EQ(spec->order, TrialOrder::kShuffled);
  EXPECT_EQ(spec->order_seed, 2022u);
  EXPECT_FALSE(spec->warmup);
  EXPECT_FALSE(spec->cooldown);
}

// Each error names the file, the line and the key, what was wrong and what is allowed.
TEST(StudySpecTest, ErrorsNameFileLineKeyAndTheFix) {
  const std::string base = "name: s\nmodels: [{model: cnn}]\nenvironments: [{name: e}]\n";
  EXPECT_EQ(error_of(base + "repetitons: 3\n"),
            "s.yaml:4: unknown key 'repetitons' (did you mean 'repetitions'?); allowed: name, experiment, store, "
            "dataset, train, epochs, early-stopping, budget, carbon, pue, models, environments, repetitions, order, "
            "order-seed, seed, idle-baseline, warmup, cooldown");
  EXPECT_EQ(error_of(base + "threads: 2\n"),
            "s.yaml:4: threads is a train flag, not a study key: set it under train: (every trial), or in a model or "
            "an environment");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}]\nenvironments:\n  - name: e\n    thread: 2\n"),
            "s.yaml:5: unknown key 'thread' in environments[0] (did you mean 'threads'?); allowed: name, slurm, and "
            "any flag of wattlab train without its dashes (see wattlab train --help)");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}]\nenvironments:\n  - name: e\n    threads: two\n"),
            "s.yaml:5: environments[0].threads must be an integer (got 'two')");
  EXPECT_EQ(error_of(base + "train: {seed: 3}\n"),
            "s.yaml:4: train.seed cannot be set in a study: use the top-level seed key: repetition r trains with "
            "seed + r - 1");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}, {model: cnn}]\nenvironments: [{name: e}]\n"),
            "s.yaml:2: models[1].name 'cnn' names two models; give each its own name");
  EXPECT_EQ(error_of("name: s\nmodels:\n  - {model: cnn, threads: 1}\nenvironments:\n  - {name: e, threads: 2}\n"),
            "s.yaml:5: environments.e.threads is also set by model cnn (line 3); set each flag in models or in "
            "environments, not both");
  EXPECT_EQ(error_of("models: [{model: cnn}]\nenvironments: [{name: e}]\n"),
            "s.yaml:1: name is missing: every study needs a name ([A-Za-z0-9_.-])");
  EXPECT_EQ(error_of("name: my study\nmodels: [{model: cnn}]\nenvironments: [{name: e}]\n"),
            "s.yaml:1: name must be letters, digits, '_', '-' or '.' (got 'my study')");
  EXPECT_EQ(error_of("name: s\nmodels: [{width-multiplier: 0.5}]\nenvironments: [{name: e}]\n"),
            "s.yaml:2: models[0] has no `model:` (the architecture, e.g. cnn)");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}]\nenvironments: [{threads: 1}]\n"),
            "s.yaml:3: environments[0] has no name: (e.g. name: 2-threads), which labels its trials");
  EXPECT_EQ(error_of(base + "idle-baseline: soon\n"),
            "s.yaml:4: idle-baseline must be a duration such as 30s, 10min, 1h or 250ms (got 'soon')");
  EXPECT_EQ(error_of(base + "cooldown: {until-idle-within: 10%}\n"),
            "s.yaml:4: cooldown.until-idle-within needs an idle baseline to compare with: add idle-baseline: 30s");
  EXPECT_EQ(error_of(base + "warmup: {steps: 10, model: vgg}\n"),
            "s.yaml:4: warmup.model must name one of the models: cnn");
  EXPECT_EQ(error_of(base + "warmup: {steps: 10, duration: 1min}\n"),
            "s.yaml:4: warmup takes either duration (10min) or steps (500), and one of them");
  EXPECT_EQ(error_of(base + "order: random\n"), "s.yaml:4: order must be shuffled (seeded by order-seed) or grouped (got 'random')");
  EXPECT_EQ(error_of(base + "repetitions: 0\n"), "s.yaml:4: repetitions must be an integer from 1 to 100000 (got '0')");
  EXPECT_EQ(error_of(base + "epochs: 2\ntrain: {epochs: 3}\n"), "s.yaml:4: epochs is already set on line 5");
  EXPECT_EQ(error_of(base + "budget: {energy: 5kJ, power: 3W}\n"),
            "s.yaml:4: unknown key 'power' in budget; allowed: energy, carbon");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}]\nenvironments:\n  - name: e\n    slurm: {partiton: gpu}\n"),
            "s.yaml:5: unknown key 'partiton' in environments[0].slurm (did you mean 'partition'?); allowed: "
            "partition, constraint, gres, cpus, mem, time");
  EXPECT_EQ(error_of("name: s\nmodels: [{model: cnn}]\nenvironments:\n  - name: e\n    slurm: {partition: \"a;rm\"}\n"),
            "s.yaml:5: environments[0].slurm.partition must not contain quotes, newlines, '$', '`', ';' or '\\'");
  EXPECT_EQ(error_of("name: s\nmodels: [cnn\n"), "s.yaml:3: end of sequence flow not found (not valid YAML)");
  EXPECT_EQ(error_of("- a\n- b\n"),
            "s.yaml:1: a study spec is a mapping with at least name, models and environments (see wattlab study example)");
}

TEST(StudySpecTest, MissingFileSaysHowToStartOne) {
  TestFlagChecker checker;
  auto spec = read_study_spec("/nonexistent/green.yaml", checker);
  EXPECT_EQ(spec.status().code(), Status::Code::kNotFound);
  EXPECT_EQ(spec.status().message(),
            "study spec /nonexistent/green.yaml does not exist (or is not a file); `wattlab study example > "
            "/nonexistent/green.yaml` writes one to start from");
}

TEST(StudySpecTest, DurationsAndClosestWords) {
  EXPECT_EQ(*parse_duration_s("30s"), 30);
  EXPECT_EQ(*parse_duration_s("10min"), 600);
  EXPECT_EQ(*parse_duration_s("1.5h"), 5400);
  EXPECT_EQ(*parse_duration_s("250ms"), 0.25);
  EXPECT_EQ(*parse_duration_s("2m"), 120);
  EXPECT_EQ(*parse_duration_s("45"), 45);
  EXPECT_FALSE(parse_duration_s("-3s").ok());
  EXPECT_FALSE(parse_duration_s("3 weeks").ok());
  EXPECT_EQ(closest_word("batchsize", {"batch-size", "threads"}), "batch-size");
  EXPECT_EQ(closest_word("xyz", {"batch-size", "threads"}), "");
}

}  // namespace
}  // namespace wattlab
