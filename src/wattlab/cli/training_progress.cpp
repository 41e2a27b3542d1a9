#include "wattlab/cli/training_progress.h"

#include <cmath>
#include <cstdio>

#include "wattlab/cli/table.h"
#include "wattlab/core/env.h"

namespace wattlab::cli {

TerminalTrainingReporter::TerminalTrainingReporter(bool enabled, std::string label)
    : enabled_(enabled), label_(std::move(label)), progress_("img", enabled) {}

void TerminalTrainingReporter::on_progress(int epoch, int epochs, const std::string& phase, int64_t images_done,
                                           int64_t images_total) {
  std::string pass = "epoch " + std::to_string(epoch) + "/" + std::to_string(epochs);
  if (phase != "training") pass += " " + phase;
  progress_.update(label_.empty() ? pass : label_ + " " + pass, images_done, images_total,
                   Env::system().clock().monotonic_ms());
}

void TerminalTrainingReporter::on_epoch_end(const EpochReport& r) {
  if (!enabled_) return;
  progress_.clear();
  const EpochMetrics& m = *r.metrics;
  std::string validation;
  if (m.val_images > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "  val_loss %.4f  val_accuracy %.4f", m.val_loss, m.val_accuracy);
    validation = buf;
  }
  std::string projected;  // STEP's total, from the first stable epoch on
  if (r.projection) {
    projected = "  projected " + format_energy_j(r.projection->energy_j) + ", " +
                format_duration_s(r.projection->duration_s);
  }
  std::fprintf(stderr, "%s%sepoch %d/%d  loss %.4f%s  accuracy %.4f  F1 %.4f  lr %.3g  %s  epoch energy %s (machine%s)%s\n",
               label_.c_str(), label_.empty() ? "" : "  ", r.epoch, r.epochs, m.train_loss, validation.c_str(),
               m.accuracy, m.f1_macro, m.learning_rate,
               format_duration_s(m.train_time_s + m.val_time_s + m.eval_time_s).c_str(),
               format_energy_j(r.energy_j).c_str(), r.energy_estimated ? ", estimated" : "", projected.c_str());
}

void TerminalTrainingReporter::on_note(const std::string& text) {
  if (!enabled_) return;
  progress_.clear();
  std::fprintf(stderr, "wattlab: note: %s\n", text.c_str());
}

void TerminalTrainingReporter::on_finished() { progress_.clear(); }

}  // namespace wattlab::cli
