#include "wattlab/analysis/step.h"

#include <cmath>
#include <functional>

#include <gtest/gtest.h>

namespace wattlab {
namespace {

// A synthetic run: epochs of `epoch_s` seconds sampled every 100 ms, each a
// training phase (the first 80 %) at level(t) watts and an evaluation phase
// at 70 % of it, with ±`noise` relative deterministic noise per sample.
struct SyntheticRun {
  std::vector<EpochEnergy> epochs;
  std::vector<PowerPoint> power;
};

SyntheticRun synthetic_run(int epochs, const std::function<double(double t_s)>& level, double noise = 0.03,
                           double epoch_s = 20) {
  SyntheticRun run;
  const int64_t start_ms = 1'700'000'000'000;
  uint64_t lcg = 12345;
  const int per_epoch = static_cast<int>(epoch_s * 10);
  for (int e = 0; e < epochs; ++e) {
    EpochEnergy epoch;
    epoch.epoch = e + 1;
    epoch.start_ms = start_ms + static_cast<int64_t>(e) * per_epoch * 100;
    for (int s = 1; s <= per_epoch; ++s) {
      const int64_t t_ms = epoch.start_ms + s * 100;
      lcg = lcg * 6364136223846793005ULL + 1442695040888963407ULL;
      const double wobble = noise * (static_cast<double>(lcg >> 11) / 9007199254740992.0 * 2 - 1);
      const double phase = s <= per_epoch * 8 / 10 ? 1.0 : 0.7;
      const double p = level(static_cast<double>(t_ms - start_ms) / 1000.0) * phase * (1 + wobble);
      run.power.push_back({t_ms, p});
      epoch.energy_j += p * 0.1;
    }
    epoch.end_ms = epoch.start_ms + per_epoch * 100;
    epoch.duration_s = epoch_s;
    run.epochs.push_back(epoch);
  }
  return run;
}

TEST(StepStabilisationTest, AStepDownAfterTwoEpochsIsStableFromEpochThree) {
  const auto run = synthetic_run(10, [](double t) { return t < 40 ? 140.0 : 100.0; });
  const Stabilisation s = detect_stabilisation(run.epochs, run.power);
  EXPECT_EQ(s.method, StabilityMethod::kMatrixProfile) << s.note;
  ASSERT_TRUE(s.regime_change_ms.has_value()) << s.note;
  // FLUSS puts the change within a quarter epoch of the real one (40 s in).
  EXPECT_NEAR(static_cast<double>(*s.regime_change_ms - run.epochs[0].start_ms), 40'000, 5'000);
  EXPECT_TRUE(s.stable);
  EXPECT_EQ(s.stable_epoch, 3);
}

TEST(StepStabilisationTest, ARampOverThreeEpochsIsStableFromEpochFour) {
  const auto run = synthetic_run(10, [](double t) { return t < 60 ? 60.0 + 40.0 * t / 60 : 100.0; });
  const Stabilisation s = detect_stabilisation(run.epochs, run.power);
  EXPECT_EQ(s.method, StabilityMethod::kMatrixProfile) << s.note;
  EXPECT_TRUE(s.stable);
  EXPECT_EQ(s.stable_epoch, 4) << s.note;
}

TEST(StepStabilisationTest, ANoisyPlateauIsStableFromTheStart) {
  const auto run = synthetic_run(8, [](double) { return 100.0; }, 0.10);
  const Stabilisation s = detect_stabilisation(run.epochs, run.power);
  EXPECT_EQ(s.method, StabilityMethod::kMatrixProfile);
  EXPECT_FALSE(s.regime_change_ms.has_value()) << s.note;
  EXPECT_TRUE(s.stable);
  EXPECT_EQ(s.stable_epoch, 1);
}

TEST(StepStabilisationTest, PowerThatKeepsClimbingIsNeverStable) {
  // 10 % more power every epoch, to the end.
  const auto run = synthetic_run(10, [](double t) { return 100.0 * std::pow(1.1, t / 20); });
  const Stabilisation s = detect_stabilisation(run.epochs, run.power);
  EXPECT_FALSE(s.stable);
  EXPECT_EQ(s.stable_epoch, 0);
  auto p = project_step(run.epochs, run.power, 20, std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE(p->stabilisation.stable);
  EXPECT_EQ(p->window_first_epoch, 6);  // not stable: projected from the latest 5 epochs
  EXPECT_EQ(p->window_last_epoch, 10);
  auto early = project_step(std::span(run.epochs).first(3), {}, 20, std::nullopt);
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->window_first_epoch, 2);  // epoch 1 left out: it holds the warm-up
  auto first = project_step(std::span(run.epochs).first(1), {}, 20, std::nullopt);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->window_first_epoch, 1);
}

TEST(StepStabilisationTest, AShortRunFallsBackAndSaysSo) {
  const auto run = synthetic_run(2, [](double) { return 100.0; });
  const Stabilisation s = detect_stabilisation(run.epochs, run.power);
  EXPECT_EQ(s.method, StabilityMethod::kEpochEnergy);
  EXPECT_EQ(s.note, "the power timeline covers 2 epochs; FLUSS needs 3");
  EXPECT_TRUE(s.stable);
  EXPECT_EQ(s.stable_epoch, 1);
  const Stabilisation without_timeline = detect_stabilisation(run.epochs, {});
  EXPECT_EQ(without_timeline.method, StabilityMethod::kEpochEnergy);
  EXPECT_EQ(without_timeline.note, "no power timeline; FLUSS needs one");
  // The fallback still requires agreeing epochs: 1 and 2 differ by 20 % here.
  auto uneven = run.epochs;
  uneven[0].energy_j *= 1.2;
  EXPECT_FALSE(detect_stabilisation(uneven, {}).stable);
}

TEST(StepStabilisationTest, ATimelineEndingASampleBeforeTheEpochStillCoversIt) {
  auto run = synthetic_run(3, [](double) { return 100.0; });
  run.power.pop_back();  // the sampler's last tick fell 100 ms before the evaluation ended
  EXPECT_EQ(detect_stabilisation(run.epochs, run.power).method, StabilityMethod::kMatrixProfile);
  auto resumed = run;
  resumed.power.erase(resumed.power.begin(), resumed.power.begin() + 250);  // a second session from epoch 2 on
  EXPECT_EQ(detect_stabilisation(resumed.epochs, resumed.power).note,
            "the power timeline starts after epoch 1 (a resumed run); FLUSS needs the whole run");
  run.power.resize(run.power.size() - 100);  // 10 s short: epoch 3 is not covered
  EXPECT_EQ(detect_stabilisation(run.epochs, run.power).note, "the power timeline covers 2 epochs; FLUSS needs 3");
}

TEST(StepProjectionTest, IsExactOnAConstantPowerRun) {
  const auto run = synthetic_run(4, [](double) { return 80.0; }, 0.0);
  StepOptions options;
  options.intensity = {400, "test"};
  RunSoFar so_far{5.0 * 80.0, 5.0};  // 5 s of set-up at 80 W ...
  for (const auto& e : run.epochs) {  // ... then the four epochs
    so_far.energy_j += e.energy_j;
    so_far.duration_s += e.duration_s;
  }
  auto p = project_step(run.epochs, run.power, 12, so_far, options);
  ASSERT_TRUE(p.ok()) << p.status().message();
  const double epoch_j = 80.0 * 20 * (0.8 + 0.2 * 0.7);
  EXPECT_TRUE(p->stabilisation.stable);
  EXPECT_EQ(p->stabilisation.stable_epoch, 1);
  EXPECT_NEAR(p->energy_per_epoch_j, epoch_j, 1e-9);
  EXPECT_NEAR(p->energy_j, 400.0 + 12 * epoch_j, 1e-9);
  EXPECT_NEAR(p->energy_low_j, p->energy_j, 1e-9);
  EXPECT_NEAR(p->energy_high_j, p->energy_j, 1e-9);
  EXPECT_NEAR(p->duration_s, 5.0 + 12 * 20, 1e-9);
  EXPECT_NEAR(p->remaining_energy_j, 8 * epoch_j, 1e-9);
  EXPECT_NEAR(p->remaining_duration_s, 8 * 20, 1e-9);
  EXPECT_NEAR(p->co2e_g, p->energy_j / 3.6e6 * 400, 1e-9);
  EXPECT_EQ(p->made_at_epoch, 4);
  EXPECT_EQ(p->total_epochs, 12);
}

TEST(StepProjectionTest, ProjectsFromTheLatestWindowOfStableEpochs) {
  std::vector<EpochEnergy> epochs;
  const double energies[] = {300, 200, 100, 102, 98, 101, 99, 100, 104};  // stable from epoch 3
  for (int i = 0; i < 9; ++i) epochs.push_back({i + 1, energies[i], 10.0, 0, 0});
  auto p = project_step(epochs, {}, 20, std::nullopt);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->stabilisation.stable_epoch, 3);
  EXPECT_EQ(p->window_first_epoch, 5);  // the latest 5 stable epochs: 5..9
  EXPECT_NEAR(p->energy_per_epoch_j, (98 + 101 + 99 + 100 + 104) / 5.0, 1e-12);
  const double so_far = 300 + 200 + 100 + 102 + 98 + 101 + 99 + 100 + 104;
  EXPECT_NEAR(p->energy_j, so_far + 11 * p->energy_per_epoch_j, 1e-9);
  EXPECT_NEAR(p->energy_low_j, so_far + 11 * 98, 1e-9);
  EXPECT_NEAR(p->energy_high_j, so_far + 11 * 104, 1e-9);
  EXPECT_NEAR(p->duration_s, 200, 1e-9);
}

TEST(StepProjectionTest, RefusesInconsistentEpochs) {
  std::vector<EpochEnergy> epochs = {{1, 10, 1, 0, 0}, {3, 10, 1, 0, 0}};
  EXPECT_FALSE(project_step(epochs, {}, 5, std::nullopt).ok());
  epochs[1].epoch = 2;
  EXPECT_TRUE(project_step(epochs, {}, 5, std::nullopt).ok());
  EXPECT_FALSE(project_step(epochs, {}, 1, std::nullopt).ok());  // more epochs than the run has
  epochs[1].energy_j = NAN;
  EXPECT_FALSE(project_step(epochs, {}, 5, std::nullopt).ok());
  EXPECT_FALSE(project_step({}, {}, 5, std::nullopt).ok());
}

TEST(StepProjectorTest, ProjectsAfterEveryEpochAsTheRunGoes) {
  const auto run = synthetic_run(8, [](double t) { return t < 40 ? 140.0 : 100.0; });
  StepProjector projector(8);
  EXPECT_FALSE(projector.project().ok());
  size_t fed = 0;
  for (const EpochEnergy& e : run.epochs) {
    ASSERT_TRUE(projector.add_epoch(e).ok());
    std::vector<PowerPoint> points;
    while (fed < run.power.size() && run.power[fed].timestamp_ms <= e.end_ms) points.push_back(run.power[fed++]);
    projector.add_power(points);
    auto p = projector.project();
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->made_at_epoch, e.epoch);
    // Equal to the projection of everything so far at once.
    auto whole = project_step(std::span(run.epochs).first(static_cast<size_t>(e.epoch)),
                              std::span(run.power).first(fed), 8, std::nullopt);
    ASSERT_TRUE(whole.ok());
    EXPECT_EQ(p->energy_j, whole->energy_j);
    if (e.epoch >= 4) {
      EXPECT_EQ(p->stabilisation.stable_epoch, 3) << "at epoch " << e.epoch << ": " << p->stabilisation.note;
    }
  }
  // The last projection is the run's measured total.
  double total = 0;
  for (const auto& e : run.epochs) total += e.energy_j;
  EXPECT_NEAR(projector.project()->energy_j, total, 1e-9);
  EXPECT_FALSE(projector.add_epoch({10, 1, 1, 0, 0}).ok());
  EXPECT_FALSE(projector.add_epoch({9, -1, 1, 0, 0}).ok());
}

TEST(StepStoredRunTest, ReadsEpochsAndPowerFromARunsRecords) {
  RunData run;
  run.info.run_id = "r1";
  run.info.start_time_ms = 1000;
  run.params["epochs"] = "6";
  auto window = [](std::string name, int64_t start, int64_t end, double cpu_j, double ram_j) {
    EnergyWindow w;
    w.name = std::move(name);
    w.start_ms = start;
    w.end_ms = end;
    w.duration_s = static_cast<double>(end - start) / 1000;
    w.domains = {{"cpu", cpu_j, true, true}, {"ram", ram_j, true, true}, {"cpu-core", 1e6, false, false}};
    return w;
  };
  // Set-up from 1000 to 3000 ms, then three epochs of 2 s each (train + eval).
  for (int e = 1; e <= 3; ++e) {
    const int64_t t = 3000 + (e - 1) * 2000;
    run.energy_windows.push_back(window("epoch-" + std::to_string(e) + "/train", t, t + 1500, 150, 15));
    run.energy_windows.push_back(window("epoch-" + std::to_string(e) + "/eval", t + 1500, t + 2000, 40, 5));
  }
  run.energy_windows.push_back(window("run", 1000, 9000, 700, 70));
  PowerTimeline timeline;
  timeline.domains = {"cpu", "ram", "cpu-core"};
  for (int64_t t = 1500; t <= 9000; t += 500) timeline.samples.push_back({t, {100, 10, 999}});
  const auto epochs = epochs_of_run(run);
  ASSERT_EQ(epochs.size(), 3u);
  EXPECT_EQ(epochs[1].epoch, 2);
  EXPECT_NEAR(epochs[1].energy_j, 210, 1e-12);
  EXPECT_NEAR(epochs[1].duration_s, 2.0, 1e-12);
  EXPECT_EQ(epochs[1].start_ms, 5000);
  EXPECT_EQ(epochs[1].end_ms, 7000);
  const auto power = total_power_of_run(run, timeline);
  ASSERT_EQ(power.size(), timeline.samples.size());
  EXPECT_EQ(power[0].power_w, 110);  // cpu-core does not count in the total
  auto p = project_stored_run(run, timeline, 2, {});
  ASSERT_TRUE(p.ok()) << p.status().message();
  // So far: 2 s of set-up at 110 W, then epochs 1 and 2; then 4 more epochs of 210 J.
  EXPECT_NEAR(p->energy_j, 220 + 2 * 210 + 4 * 210, 1e-9);
  EXPECT_NEAR(p->duration_s, 2 + 2 * 2 + 4 * 2, 1e-9);
  EXPECT_FALSE(project_stored_run(run, timeline, 4, {}).ok());
  run.params.clear();
  EXPECT_FALSE(project_stored_run(run, timeline, 2, {}).ok());
}

}  // namespace
}  // namespace wattlab
