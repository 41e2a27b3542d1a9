// CPU thermal design power (TDP) by model name, from the table in
// data/cpu_tdp.csv (CodeCarbon's cpu_power.csv, MIT), compiled into the
// library. The estimator uses it to turn CPU utilisation into watts.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

struct CpuTdpMatch {
  std::string table_name;  // the row that matched, as spelled in the table
  double tdp_w = 0;        // TDP of one CPU package, in watts
};

// A parsed TDP table. Matching follows CodeCarbon's rules, made deterministic:
//   1. Normalise both names: drop "(R)", "(TM)", "®", "™"; cut from " CPU @ ";
//      drop a word "CPU" and "@ 2.30GHz"-style frequencies; lowercase; collapse
//      whitespace. An exact normalised match wins.
//   2. Otherwise compare token sets (runs of letters and digits). A row whose
//      tokens all occur in the name matches (the name may add words such as
//      "64-Core Processor" or "11th Gen"); the row with the most tokens wins.
//      Failing that, a row containing every token of the name matches.
//      Either way the shared tokens must include a model number (a token of
//      three or more characters with a digit, e.g. "7763", "1165g7"), and
//      when the best candidates disagree on TDP there is no match.
// So "Intel(R) Xeon(R) Gold 6148 CPU @ 2.40GHz" finds "Intel Xeon Gold 6148",
// and a bare "AMD EPYC" (what many VMs report) finds nothing.
class CpuTdpTable {
 public:
  // Parses "name,tdp_w" CSV: '#' comment lines and blank lines are skipped,
  // the first other line must be the header "name,tdp_w", names may be
  // double-quoted (RFC 4180). Corrupt names the line at fault.
  static Result<CpuTdpTable> parse(std::string_view csv);
  // The table embedded at build time. Empty only if the build embedded a
  // corrupt file (the energy tests check that it did not).
  static const CpuTdpTable& builtin();

  std::optional<CpuTdpMatch> match(std::string_view cpu_model_name) const;
  size_t size() const { return rows_.size(); }

 private:
  struct Row {
    std::string name;
    double tdp_w;
    std::string normalised;           // as matched in rule 1
    std::vector<std::string> tokens;  // sorted, unique; rule 2
  };
  std::vector<Row> rows_;
};

// TDP in watts of one package of the CPU named `cpu_model_name` (as in
// /proc/cpuinfo "model name"), from the builtin table; nullopt when the model
// is unknown or ambiguous.
std::optional<double> lookup_cpu_tdp_w(std::string_view cpu_model_name);

// The normalisation of rule 1, exposed for tests and diagnostics.
std::string normalise_cpu_model_name(std::string_view cpu_model_name);

}  // namespace wattlab
