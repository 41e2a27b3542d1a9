#include "wattlab/cli/listing.h"

#include <cmath>

#include "wattlab/cli/table.h"

namespace wattlab::cli {

Listing::Listing(std::vector<ListingColumn> columns) : columns_(std::move(columns)) {}

void Listing::add_row(std::vector<ListingCell> cells) {
  cells.resize(columns_.size());
  rows_.push_back(std::move(cells));
}

nlohmann::json Listing::to_json() const {
  auto out = nlohmann::json::array();
  for (const auto& row : rows_) {
    nlohmann::json object = nlohmann::json::object();
    for (size_t c = 0; c < columns_.size(); ++c) object[columns_[c].key] = row[c].value;
    out.push_back(std::move(object));
  }
  return out;
}

void Listing::print(std::ostream& out, const std::string& format) const {
  if (format == "json") {
    out << to_json().dump(2) << "\n";
    return;
  }
  if (format == "csv") {
    for (size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << csv_field(columns_[c].key);
    out << "\n";
    for (const auto& row : rows_) {
      for (size_t c = 0; c < columns_.size(); ++c) out << (c ? "," : "") << csv_value(row[c].value);
      out << "\n";
    }
    return;
  }
  std::vector<std::string> headers;
  std::vector<bool> right;
  std::vector<size_t> shown;
  for (size_t c = 0; c < columns_.size(); ++c) {
    if (columns_[c].header.empty()) continue;
    headers.push_back(columns_[c].header);
    right.push_back(columns_[c].right_aligned);
    shown.push_back(c);
  }
  TextTable table(headers, right);
  for (const auto& row : rows_) {
    std::vector<std::string> cells;
    for (size_t c : shown) cells.push_back(row[c].text);
    table.add_row(std::move(cells));
  }
  table.print(out);
}

ListingCell text_cell(const std::string& text) { return {text, text}; }

ListingCell number_cell(double value, const std::string& text) {
  return {std::isfinite(value) ? nlohmann::json(value) : nlohmann::json(), text};
}

std::string csv_field(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string out = "\"";
  for (char c : text) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string csv_value(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return csv_field(value.get<std::string>());
  return csv_field(value.dump());
}

}  // namespace wattlab::cli
