#include "wattlab/cli/table.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace wattlab::cli {

namespace {
// Display width of a UTF-8 string: count code points, not bytes.
size_t display_width(const std::string& s) {
  size_t width = 0;
  for (unsigned char c : s) width += (c & 0xC0) != 0x80;
  return width;
}
}  // namespace

TextTable::TextTable(std::vector<std::string> headers, std::vector<bool> right_aligned)
    : headers_(std::move(headers)), right_aligned_(std::move(right_aligned)) {
  right_aligned_.resize(headers_.size(), false);
}

void TextTable::add_row(std::vector<std::string> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

void TextTable::print(std::ostream& out) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t c = 0; c < headers_.size(); ++c) widths[c] = display_width(headers_[c]);
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size(); ++c) widths[c] = std::max(widths[c], display_width(row[c]));
  auto print_row = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t c = 0; c < cells.size(); ++c) {
      std::string pad(widths[c] - display_width(cells[c]), ' ');
      line += right_aligned_[c] ? pad + cells[c] : cells[c] + pad;
      if (c + 1 < cells.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  print_row(headers_);
  std::vector<std::string> rule;
  for (size_t w : widths) rule.emplace_back(w, '-');
  print_row(rule);
  for (const auto& row : rows_) print_row(row);
}

std::string format_number(double value, int decimals) {
  if (std::isnan(value)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return buf;
}

std::string format_value(double value) {
  if (std::isnan(value)) return "-";
  char buf[64];
  const double a = std::fabs(value);
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  if (value == std::floor(value) && a < 1e15) std::snprintf(buf, sizeof buf, "%.0f", value);
  else if (a >= 1000) std::snprintf(buf, sizeof buf, "%.1f", value);
  else if (a >= 0.001) std::snprintf(buf, sizeof buf, "%.4f", value);
  else std::snprintf(buf, sizeof buf, "%.3g", value);
  return buf;
}

std::string format_duration_s(double seconds) {
  if (std::isnan(seconds)) return "-";
  char buf[64];
  if (seconds < 60) {
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  } else if (seconds < 3600) {
    int s = static_cast<int>(std::lround(seconds));
    std::snprintf(buf, sizeof buf, "%dm %02ds", s / 60, s % 60);
  } else {
    int m = static_cast<int>(std::lround(seconds / 60));
    std::snprintf(buf, sizeof buf, "%dh %02dm", m / 60, m % 60);
  }
  return buf;
}

std::string format_energy_j(double energy_j) {
  if (std::isnan(energy_j)) return "-";
  char buf[64];
  double a = std::fabs(energy_j);
  if (a < 1e3) std::snprintf(buf, sizeof buf, "%.1f J", energy_j);
  else if (a < 1e6) std::snprintf(buf, sizeof buf, "%.2f kJ", energy_j / 1e3);
  else std::snprintf(buf, sizeof buf, "%.2f MJ", energy_j / 1e6);
  return buf;
}

std::string format_timestamp_ms(int64_t timestamp_ms, const char* format) {
  std::time_t t = static_cast<std::time_t>(timestamp_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, format, &tm);
  return buf;
}

}  // namespace wattlab::cli
