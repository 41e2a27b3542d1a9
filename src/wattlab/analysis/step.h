// STEP: the energy, time and carbon of a whole training, projected while it
// runs (after del Rey et al., arXiv 2307.05520). Power is not steady at the
// start of a training (caches, clocks, data loading warm up); once it is, each
// further epoch costs about what the last few did, so
//
//   projected total = measured so far + mean epoch of the stable window
//                                       × epochs still to run
//
// where the stable window is the latest `window_epochs` epochs (at most) of
// the stretch that begins at the first stable epoch. (The reference projects
// from the first 5 stable epochs; the latest ones follow a run that drifts.)
//
// The first stable epoch is found in two steps:
//  1. Where the power timeline covers at least min_profile_epochs epochs,
//     FLUSS (analysis/matrix_profile.h) looks for a regime change in it; the
//     first epoch that starts at or after the change is the candidate. No
//     change (the corrected arc curve stays above regime_change_cac): epoch 1.
//     With a shorter timeline, one that starts after epoch 1 (a resumed
//     run's), or none, the candidate is epoch 1 and the result says that the
//     fallback was used, and why.
//  2. From the candidate on, the first epoch k whose next epochs (up to
//     window_epochs, at least min_stable_epochs of them, as many as have run)
//     differ in energy by at most `tolerance` of their mean (max − min). None:
//     not stable yet.
// Before the run is stable a projection is still made, from the latest
// window_epochs epochs but epoch 1 (which holds the warm-up; epoch 1 alone
// while it is the only one), marked not stable
// (StepProjection::stabilisation.stable).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "wattlab/core/status.h"
#include "wattlab/energy/carbon.h"
#include "wattlab/track/entities.h"

namespace wattlab {

// One epoch as STEP sees it: the sum of its energy windows (training,
// validation, evaluation).
struct EpochEnergy {
  int epoch = 0;          // 1-based
  double energy_j = 0;    // joules
  double duration_s = 0;  // seconds
  int64_t start_ms = 0;   // wall clock at the start of its first window; 0 when unknown
  int64_t end_ms = 0;     // wall clock at the end of its last window; 0 when unknown
};

// The run's total power at one instant: the mean over the sampling interval
// that ends at timestamp_ms.
struct PowerPoint {
  int64_t timestamp_ms = 0;
  double power_w = 0;
};

struct StepOptions {
  int window_epochs = 5;       // the stable window: at most this many epochs (the reference's 5)
  int min_stable_epochs = 2;   // a stretch is stable only with at least this many epochs
  double tolerance = 0.05;     // ... whose energies spread by at most this fraction of their mean
  // FLUSS on the power timeline.
  int min_profile_epochs = 3;        // the timeline must cover this many epochs, else the fallback
  size_t max_profile_points = 1000;  // the timeline is averaged into at most this many equal time bins
  int subsequences_per_epoch = 4;    // FLUSS's window is a quarter of an epoch's bins (at least 2 bins)
  size_t exclusion_factor = 1;       // FLUSS's edges and exclusion, in windows (stumpy's excl_factor)
  double regime_change_cac = 0.5;    // a corrected arc curve minimum below this is a regime change
  // Carbon of the projection.
  CarbonIntensity intensity = world_average_carbon_intensity();
  double pue = 1.0;
};

enum class StabilityMethod { kMatrixProfile, kEpochEnergy };
// "matrix profile (FLUSS)", "epoch energies (fallback)".
const char* stability_method_name(StabilityMethod method);

struct Stabilisation {
  bool stable = false;
  int stable_epoch = 0;  // the first stable epoch, 1-based; 0 when not stable
  StabilityMethod method = StabilityMethod::kEpochEnergy;
  // What step 1 found or why it fell back: "FLUSS: regime change in epoch 2
  // (arc curve 0.21)", "power timeline covers 2 epochs; FLUSS needs 3".
  std::string note;
  std::optional<int64_t> regime_change_ms;  // wall clock of FLUSS's regime change, when it found one
};

// The run's own measurement from its start to the end of the latest epoch
// (set-up, and whatever ran between epochs, included). Without it the
// projection counts only the epochs' energy and duration.
struct RunSoFar {
  double energy_j = 0;
  double duration_s = 0;
};

struct StepProjection {
  int made_at_epoch = 0;  // the latest epoch the projection saw
  int total_epochs = 0;   // the epochs the run is to train
  Stabilisation stabilisation;
  int window_first_epoch = 0;  // the epochs whose mean is projected forward
  int window_last_epoch = 0;
  double energy_per_epoch_j = 0;  // their mean energy: what the next epoch should take
  double energy_j = 0;            // projected total of the run
  double energy_low_j = 0;        // ... with the window's cheapest / dearest epoch
  double energy_high_j = 0;
  double duration_s = 0;  // projected total duration
  double co2e_g = 0;      // energy_j at StepOptions' intensity and PUE
  double remaining_energy_j = 0;    // of the epochs still to run (energy_j less what was measured)
  double remaining_duration_s = 0;
};

// Step 1 and 2 above for `epochs` (consecutive from 1) and the run's power
// timeline (in time order; may be empty).
Stabilisation detect_stabilisation(std::span<const EpochEnergy> epochs, std::span<const PowerPoint> power,
                                   const StepOptions& options = {});

// The projection of a run of `total_epochs` epochs after the given ones.
// InvalidArgument when `epochs` is empty, not numbered 1, 2, ..., holds a
// negative or non-finite figure, or outnumbers total_epochs.
Result<StepProjection> project_step(std::span<const EpochEnergy> epochs, std::span<const PowerPoint> power,
                                    int total_epochs, std::optional<RunSoFar> so_far,
                                    const StepOptions& options = {});

// STEP for a training loop: fed epoch by epoch (and with the power samples
// as they come), it projects the run's total after every epoch. Not
// thread-safe. Each project() is O(min(samples, max_profile_points)²).
class StepProjector {
 public:
  explicit StepProjector(int total_epochs, StepOptions options = {});

  // Appends the next epoch; InvalidArgument unless it is epoch
  // epochs() + 1 with finite, non-negative figures.
  Status add_epoch(const EpochEnergy& epoch);
  // Appends power samples (later than those given before).
  void add_power(std::span<const PowerPoint> points);
  // The run's own measurement up to the end of the latest epoch.
  void set_run_so_far(const RunSoFar& so_far) { so_far_ = so_far; }

  // The projection after the latest epoch; InvalidArgument before the first.
  Result<StepProjection> project() const;
  int epochs() const { return static_cast<int>(epochs_.size()); }

 private:
  int total_epochs_;
  StepOptions options_;
  std::vector<EpochEnergy> epochs_;
  std::vector<PowerPoint> power_;
  std::optional<RunSoFar> so_far_;
};

// ---- Runs read back from the store ----

// The epochs of a stored run, from its `epoch-N/train`, `epoch-N/validate`
// and `epoch-N/eval` energy windows, in epoch order (a window logged twice
// for one epoch, as after a resume, counts once: the later one).
std::vector<EpochEnergy> epochs_of_run(const RunData& run);

// The run's total power over time: the sum, per sample, of the domains that
// count in the run's total (those of its `run` window marked
// counts_in_total; every domain when it has no such window). Samples where
// every counted domain is NaN are left out.
std::vector<PowerPoint> total_power_of_run(const RunData& run, const PowerTimeline& timeline);

// What STEP would have projected for a finished run right after epoch
// `at_epoch`: the epochs up to it, the timeline up to its end, and as the run
// so far the energy and time before epoch 1 (from the timeline and the run's
// start) plus those epochs. The run's length is its `wattlab.epochs` tag,
// else its `epochs` param. InvalidArgument when the run has fewer epochs or
// no length.
Result<StepProjection> project_stored_run(const RunData& run, const PowerTimeline& timeline, int at_epoch,
                                          const StepOptions& options = {});

}  // namespace wattlab
