// Listing: rows printed as a terminal table, a JSON array of objects or CSV,
// from one description, so that every listing offers the same three
// formats. JSON and CSV carry the raw values under keys with units
// (energy_j, duration_s); the table shows each cell's formatted text under a
// readable header.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace wattlab::cli {

// "table", "json", "csv".
inline const std::vector<std::string> kListingFormats = {"table", "json", "csv"};

struct ListingColumn {
  std::string key;      // JSON key and CSV header, with its unit ("energy_j")
  std::string header;   // table header ("energy J"); empty: not in the table
  bool right_aligned = false;
};

struct ListingCell {
  nlohmann::json value;  // JSON / CSV value; null is printed as an empty CSV field
  std::string text;      // table text
};

class Listing {
 public:
  explicit Listing(std::vector<ListingColumn> columns);
  // A row: one cell per column, in column order.
  void add_row(std::vector<ListingCell> cells);
  size_t row_count() const { return rows_.size(); }
  // `format` is one of kListingFormats ("table" for anything else).
  void print(std::ostream& out, const std::string& format) const;
  // The rows as JSON objects.
  nlohmann::json to_json() const;

 private:
  std::vector<ListingColumn> columns_;
  std::vector<std::vector<ListingCell>> rows_;
};

// Cells: text and value alike; a number (null when NaN) shown by `text`.
ListingCell text_cell(const std::string& text);
ListingCell number_cell(double value, const std::string& text);
// One CSV field, quoted when it holds a comma, quote or line break (RFC 4180).
std::string csv_field(const std::string& text);
// A JSON value as a CSV field: strings as they are, numbers in their shortest
// exact form, null empty.
std::string csv_value(const nlohmann::json& value);

}  // namespace wattlab::cli
