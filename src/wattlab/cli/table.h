// Plain-text tables for the terminal.
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace wattlab::cli {

// Columns are left-aligned unless their header is listed in `right_aligned`
// (numbers read better right-aligned). Every row must have as many cells as
// there are headers.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> headers, std::vector<bool> right_aligned = {});
  void add_row(std::vector<std::string> cells);
  void print(std::ostream& out) const;
  size_t row_count() const { return rows_.size(); }

 private:
  std::vector<std::string> headers_;
  std::vector<bool> right_aligned_;             // per column
  std::vector<std::vector<std::string>> rows_;
};

// Fixed-point number with `decimals` digits, "-" for NaN.
std::string format_number(double value, int decimals);
// A figure of unknown scale (a metric's value) at useful precision: an
// integer as an integer ("421642", "0"), otherwise 1 decimal from 1000 up,
// 4 decimals from 0.001 up, else 3 significant digits ("7.63e-05"); "-" for
// NaN.
std::string format_value(double value);
// "1m 05s", "12.3 s", "2h 03m" for a duration in seconds.
std::string format_duration_s(double seconds);
// "812 J", "12.4 kJ", "3.21 MJ".
std::string format_energy_j(double energy_j);
// Local time of a Unix timestamp in milliseconds, as strftime's `format`
// gives it: "2026-11-26 12:34:56" by default.
std::string format_timestamp_ms(int64_t timestamp_ms, const char* format = "%Y-%m-%d %H:%M:%S");

}  // namespace wattlab::cli
