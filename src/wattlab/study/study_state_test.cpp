#include "wattlab/study/study_state.h"

#include <gtest/gtest.h>

namespace wattlab {
namespace {

RunData run_with(std::map<std::string, double> metrics) {
  RunData run;
  for (const auto& [key, value] : metrics) run.latest_metrics[key] = {key, value, 0, 0};
  return run;
}

TEST(StudySummaryTest, RunningTrialsCountTheirStepProjections) {
  std::vector<Trial> trials(5);
  const char* environments[] = {"e1", "e1", "e1", "e2", "e2"};
  for (size_t i = 0; i < trials.size(); ++i) {
    trials[i].model = "m";
    trials[i].environment = environments[i];
  }
  StudyState state;
  state.trials = {
      {&trials[0], TrialState::kFinished, run_with({{"energy_j", 100}, {"duration_s", 10}})},
      {&trials[1], TrialState::kRunning,
       run_with({{"projected_energy_j", 120}, {"projected_duration_s", 12}, {"projected_remaining_energy_j", 40},
                 {"projected_remaining_s", 4}})},
      {&trials[2], TrialState::kPending, std::nullopt},
      {&trials[3], TrialState::kRunning, run_with({})},  // no projection yet: counts whole
      {&trials[4], TrialState::kPending, std::nullopt},
  };
  const StudySummary s = summarize(state);
  EXPECT_EQ(s.running, 2);
  // Trial 1: its projected 40 J and 4 s left; the others: the mean of trial 0 and trial 1's projection, 110 J, 11 s.
  EXPECT_DOUBLE_EQ(s.remaining_energy_j, 40 + 3 * 110);
  EXPECT_DOUBLE_EQ(s.remaining_s, 4 + 3 * 11);
  // Before any trial finished, a projection is enough to estimate the rest.
  state.trials[0] = {&trials[0], TrialState::kPending, std::nullopt};
  const StudySummary early = summarize(state);
  EXPECT_DOUBLE_EQ(early.remaining_energy_j, 40 + 4 * 120);
}

}  // namespace
}  // namespace wattlab
