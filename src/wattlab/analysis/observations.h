// Where `stats compare`, `check` and study reports get their numbers: a CSV
// file, or runs in the experiment store selected by experiment, study or
// filter, with fields named as the filter language names them
// ("metrics.energy_per_image_j", "params.model", "tags.wattlab.study.model").
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "wattlab/analysis/compare.h"
#include "wattlab/core/status.h"
#include "wattlab/track/store.h"

namespace wattlab {

// The columns of a comparison: one or two grouping columns, the value, and
// optionally a second value to correlate with.
struct ObservationColumns {
  std::vector<std::string> by;  // one or two
  std::string value;
  std::string correlate;  // empty: none
};

// Parses CSV `text` (RFC 4180: a header row, commas, "quoted" fields with ""
// escapes, LF or CRLF) into observations of `columns`. Rows whose value is
// empty or not a finite number are dropped and counted (so are rows whose
// correlate is missing: the correlate becomes NaN there, the row stays).
// InvalidArgument naming the column and the columns that exist when one is
// missing, or the line of a malformed row; `source` names the input in
// messages.
Result<Observations> parse_csv_observations(const std::string& text, const ObservationColumns& columns,
                                            const std::string& source = "CSV");
// The same from a file; NotFound / IoError naming the path.
Result<Observations> read_csv_observations(const std::string& path, const ObservationColumns& columns);

// Which runs to read. Empty fields select nothing in particular; all three
// combine with AND.
struct RunSelection {
  std::string experiment;  // runs of this experiment (by name)
  std::string study;       // trial runs of this study: tags wattlab.study = NAME, wattlab.study.role = trial
  std::string filter;      // MLflow search syntax (track/filter.h)
};

// "experiment 'x', study 'y', filter '...'" for messages.
std::string describe_selection(const RunSelection& selection);

// Every active run the selection matches, whatever its status (read through
// search_runs, so without energy windows and environment). NotFound for an
// unknown experiment; InvalidArgument for a bad filter.
Result<std::vector<RunData>> select_runs(Store& store, const RunSelection& selection);

// The value of `key` in `run`: "metrics.K" (latest value, as text),
// "params.K", "tags.K", "attributes.K" (run_id, run_name, status,
// experiment_id, start_time, end_time, duration_s); nullopt when the run has
// no such field.
std::optional<std::string> run_field(const RunData& run, const std::string& key);
// InvalidArgument unless `key` starts with metrics., params., tags. or
// attributes. followed by a name.
Status check_run_field_key(const std::string& key);

// Observations of `columns` over `runs`: one row per FINISHED run with a
// finite value and every grouping field; the others are dropped and counted,
// with the reason. InvalidArgument for a malformed key.
Result<Observations> observations_from_runs(const std::vector<RunData>& runs, const ObservationColumns& columns);

}  // namespace wattlab
