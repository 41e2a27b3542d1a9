// Flags that `wattlab train` and `wattlab estimate` share, so that an
// estimate can be asked about exactly the run one would start.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "wattlab/train/trainer.h"

namespace wattlab::cli {

// The Model (--model, --width-multiplier), Data (--dataset, --data, --subset,
// --test-subset, --resize, --channels, --val-split, --augment, ...) and
// Compute (--epochs, --batch-size, --threads, --device, --precision,
// --channels-last, --seed) groups, bound to `c`, which must outlive `cmd`'s
// parsing.
void add_training_workload_options(CLI::App* cmd, TrainConfig& c);

// --carbon (country, provider:region or g/kWh; empty: world average) and
// --pue, in the Energy group.
void add_carbon_options(CLI::App* cmd, std::string* carbon, double* pue);

}  // namespace wattlab::cli
