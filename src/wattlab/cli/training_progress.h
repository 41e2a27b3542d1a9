// How a tracked training shows on the terminal: a progress bar during each
// epoch's training and evaluation passes and one line per epoch (loss,
// accuracy, F1, time, energy) on stderr.
#pragma once

#include <string>

#include "wattlab/cli/progress_bar.h"
#include "wattlab/run/tracked_training.h"

namespace wattlab::cli {

class TerminalTrainingReporter : public TrainingReporter {
 public:
  // `enabled=false` prints nothing (--quiet). `label` prefixes the progress
  // bar ("[3/8] cnn, 1-thread"); empty: none.
  explicit TerminalTrainingReporter(bool enabled, std::string label = "");

  void on_progress(int epoch, int epochs, const std::string& phase, int64_t images_done,
                   int64_t images_total) override;
  void on_epoch_end(const EpochReport& report) override;
  void on_note(const std::string& text) override;
  void on_finished() override;

 private:
  bool enabled_;
  std::string label_;
  ProgressBar progress_;
};

}  // namespace wattlab::cli
