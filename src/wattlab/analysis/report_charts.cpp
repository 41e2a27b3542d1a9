#include "wattlab/analysis/report_charts.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>

#include "wattlab/analysis/descriptive.h"

namespace wattlab {

namespace {

constexpr double kWidth = 760, kHeight = 380;
constexpr double kLeft = 78, kRight = 24, kTop = 40, kBottom = 64;
// Okabe–Ito: distinguishable with the common colour-vision deficiencies.
const char* const kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#000000"};
const char* const kDashes[] = {"", "6 3", "2 3", "8 3 2 3", "1 2", "10 4"};

const char* colour(size_t i) { return kPalette[i % std::size(kPalette)]; }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// Maps [d0, d1] onto [r0, r1], linearly or on log10.
struct Scale {
  double d0 = 0, d1 = 1, r0 = 0, r1 = 1;
  bool log = false;
  double operator()(double v) const {
    const double t = log ? (std::log10(v) - std::log10(d0)) / (std::log10(d1) - std::log10(d0)) : (v - d0) / (d1 - d0);
    return r0 + t * (r1 - r0);
  }
};

// About `count` round tick values covering [low, high].
std::vector<double> linear_ticks(double low, double high, int count) {
  const double raw = (high - low) / count;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(low / step) * step; t <= high + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

std::vector<double> log_ticks(double low, double high) {
  std::vector<double> ticks;
  for (double decade = std::pow(10, std::floor(std::log10(low))); decade <= high; decade *= 10)
    for (double m : {1.0, 2.0, 5.0})
      if (m * decade >= low && m * decade <= high) ticks.push_back(m * decade);
  if (ticks.size() < 2) ticks = {low, high};
  return ticks;
}

std::string tick_label(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", std::fabs(v) < 1e-12 ? 0.0 : v);
  return buf;
}

std::string open_svg(const std::string& title) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " + num(kWidth) + " " + num(kHeight) +
         "\" role=\"img\" aria-label=\"" + escape_xml(title) + "\"><title>" + escape_xml(title) + "</title>\n";
}

std::string text(double x, double y, const std::string& content, const std::string& attributes = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" " + attributes + ">" + escape_xml(content) + "</text>";
}

std::string line(double x1, double y1, double x2, double y2, const std::string& attributes) {
  return "<line x1=\"" + num(x1) + "\" y1=\"" + num(y1) + "\" x2=\"" + num(x2) + "\" y2=\"" + num(y2) + "\" " +
         attributes + "/>";
}

// Horizontal grid lines and labels of a y axis, and its title.
std::string y_axis(const Scale& y, const std::vector<double>& ticks, const std::string& title) {
  std::string out = "<g class=\"axis y-axis\">";
  for (double t : ticks) {
    out += line(kLeft, y(t), kWidth - kRight, y(t), "class=\"grid\"");
    out += text(kLeft - 6, y(t) + 4, tick_label(t), "text-anchor=\"end\"");
  }
  out += line(kLeft, kTop, kLeft, kHeight - kBottom, "class=\"frame\"");
  out += text(16, (kTop + kHeight - kBottom) / 2, title,
              "text-anchor=\"middle\" transform=\"rotate(-90 16 " + num((kTop + kHeight - kBottom) / 2) + ")\"");
  return out + "</g>\n";
}

std::string x_axis_linear(const Scale& x, const std::vector<double>& ticks, const std::string& title) {
  std::string out = "<g class=\"axis x-axis\">";
  for (double t : ticks) {
    out += line(x(t), kTop, x(t), kHeight - kBottom, "class=\"grid\"");
    out += text(x(t), kHeight - kBottom + 16, tick_label(t), "text-anchor=\"middle\"");
  }
  out += line(kLeft, kHeight - kBottom, kWidth - kRight, kHeight - kBottom, "class=\"frame\"");
  out += text((kLeft + kWidth - kRight) / 2, kHeight - 14, title, "text-anchor=\"middle\"");
  return out + "</g>\n";
}

// A row of legend entries in the top margin, so it never covers data.
std::string legend(const std::vector<std::string>& labels, bool lines) {
  std::string out = "<g class=\"legend\">";
  double x = kLeft;
  const double y = 18;
  for (size_t i = 0; i < labels.size(); ++i) {
    if (lines) {
      out += line(x, y - 4, x + 22, y - 4,
                  "stroke=\"" + std::string(colour(i)) + "\" stroke-width=\"2.5\" stroke-dasharray=\"" +
                      kDashes[i % std::size(kDashes)] + "\"");
    } else {
      out += "<rect x=\"" + num(x + 5) + "\" y=\"" + num(y - 10) + "\" width=\"12\" height=\"12\" fill=\"" +
             colour(i) + "\" fill-opacity=\"0.35\" stroke=\"" + colour(i) + "\"/>";
    }
    out += text(x + 27, y, labels[i], "class=\"legend-label\"");
    x += 40 + 6.5 * static_cast<double>(labels[i].size());
  }
  return out + "</g>\n";
}

// A label's estimated extent (11 px text, about 6.2 px a character).
struct Box {
  double x0, y0, x1, y1;
  bool overlaps(const Box& o) const { return x0 < o.x1 && o.x0 < x1 && y0 < o.y1 && o.y0 < y1; }
};

struct Placement {
  double x, y;
  bool end_anchored;
};

// The first of four spots around the point (right-above, right-below,
// left-above, left-below; left first in the plot's right half) where the
// label overlaps no label placed before it.
Placement place_label(double cx, double cy, const std::string& label, std::vector<Box>* placed) {
  const double width = 6.2 * static_cast<double>(label.size());
  const bool right_half = cx > (kLeft + kWidth - kRight) / 2;
  std::vector<Placement> spots = {{cx + 8, cy - 7, false}, {cx + 8, cy + 15, false}, {cx - 8, cy - 7, true},
                                  {cx - 8, cy + 15, true}};
  if (right_half) std::rotate(spots.begin(), spots.begin() + 2, spots.end());
  for (const Placement& p : spots) {
    const Box box{p.end_anchored ? p.x - width : p.x, p.y - 10, p.end_anchored ? p.x : p.x + width, p.y + 2};
    bool free = true;
    for (const Box& other : *placed) free = free && !box.overlaps(other);
    if (free) {
      placed->push_back(box);
      return p;
    }
  }
  return spots.front();
}

// Values of a study's runs of one cell.
std::vector<double> cell_values(const StudyReport& r, const StudyCell& cell) {
  std::vector<double> v;
  for (size_t i : cell.runs) v.push_back(r.data.runs[i].energy_per_image_j);
  return v;
}

}  // namespace

std::string escape_xml(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string energy_box_plot_svg(const StudyReport& r) {
  double lowest = std::numeric_limits<double>::infinity(), highest = 0;
  for (const StudyRun& run : r.data.runs) {
    lowest = std::min(lowest, run.energy_per_image_j);
    highest = std::max(highest, run.energy_per_image_j);
  }
  // Configurations an order of magnitude apart read better on a log scale,
  // where the cheap ones' spread stays visible.
  const bool log_scale = lowest > 0 && highest / lowest > 8;
  Scale y;
  std::vector<double> ticks;
  if (log_scale) {
    const double pad = std::log10(highest / lowest) * 0.06;
    y = {lowest / std::pow(10, pad), highest * std::pow(10, pad), kHeight - kBottom, kTop, true};
    ticks = log_ticks(y.d0, y.d1);
  } else {
    ticks = linear_ticks(0, highest > 0 ? highest : 1, 6);
    y = {0, std::max(ticks.back(), highest), kHeight - kBottom, kTop};
  }
  std::string out = open_svg("Energy per image of every run, by model and environment");
  out += y_axis(y, ticks, log_scale ? "energy per image (J, log scale)" : "energy per image (J)");
  const auto& models = r.data.models;
  const auto& environments = r.data.environments;
  const double band = (kWidth - kLeft - kRight) / static_cast<double>(std::max<size_t>(models.size(), 1));
  const double slot = band * 0.84 / static_cast<double>(std::max<size_t>(environments.size(), 1));
  out += line(kLeft, kHeight - kBottom, kWidth - kRight, kHeight - kBottom, "class=\"frame\"");
  for (size_t m = 0; m < models.size(); ++m) {
    out += text(kLeft + band * (static_cast<double>(m) + 0.5), kHeight - kBottom + 18, models[m],
                "text-anchor=\"middle\" class=\"category\"");
  }
  for (const StudyCell& cell : r.cells) {
    const size_t m = std::find(models.begin(), models.end(), cell.model) - models.begin();
    const size_t e = std::find(environments.begin(), environments.end(), cell.environment) - environments.begin();
    const double centre = kLeft + band * static_cast<double>(m) + band * 0.08 + slot * (static_cast<double>(e) + 0.5);
    const double half = slot * 0.32;
    std::vector<double> values = cell_values(r, cell);
    std::sort(values.begin(), values.end());
    const double q1 = quantile_sorted(values, 0.25), q3 = quantile_sorted(values, 0.75);
    const double med = quantile_sorted(values, 0.5), reach = 1.5 * (q3 - q1);
    double low = med, high = med;  // whisker ends: the furthest runs within 1.5 IQR of the box
    for (double v : values) {
      if (v >= q1 - reach) low = std::min(low, v);
      if (v <= q3 + reach) high = std::max(high, v);
    }
    const std::string c = colour(e);
    out += "<g class=\"box\" data-configuration=\"" + escape_xml(cell.label) + "\"><title>" + escape_xml(cell.label) +
           ": median " + format_significant(med, 3) + " J per image, " + std::to_string(values.size()) +
           " runs</title>";
    out += line(centre, y(low), centre, y(q1), "stroke=\"" + c + "\"");
    out += line(centre, y(q3), centre, y(high), "stroke=\"" + c + "\"");
    out += line(centre - half / 2, y(low), centre + half / 2, y(low), "stroke=\"" + c + "\"");
    out += line(centre - half / 2, y(high), centre + half / 2, y(high), "stroke=\"" + c + "\"");
    out += "<rect x=\"" + num(centre - half) + "\" y=\"" + num(y(q3)) + "\" width=\"" + num(2 * half) +
           "\" height=\"" + num(std::max(1.0, y(q1) - y(q3))) + "\" fill=\"" + c + "\" fill-opacity=\"0.25\" stroke=\"" +
           c + "\"/>";
    out += line(centre - half, y(med), centre + half, y(med), "stroke=\"" + c + "\" stroke-width=\"2.5\"");
    out += "</g>\n";
    // Every run, spread sideways by a fixed low-discrepancy sequence.
    for (size_t k = 0; k < cell.runs.size(); ++k) {
      const StudyRun& run = r.data.runs[cell.runs[k]];
      const double jitter = (std::fmod(0.618033988749895 * static_cast<double>(k + 1), 1.0) - 0.5) * half * 1.6;
      out += "<circle class=\"run-point" + std::string(run.energy_estimated ? " estimated" : "") + "\" cx=\"" +
             num(centre + jitter) + "\" cy=\"" + num(y(run.energy_per_image_j)) + "\" r=\"2.6\" fill=\"" +
             (run.energy_estimated ? std::string("#fff") : c) + "\" stroke=\"" + c + "\"><title>" +
             escape_xml(run.run_name) + ": " + format_significant(run.energy_per_image_j, 4) + " J per image" +
             (run.energy_estimated ? " (estimated)" : "") + "</title></circle>";
    }
    out += "\n";
  }
  out += legend(environments, false);
  return out + "</svg>\n";
}

std::string interaction_plot_svg(const StudyReport& r) {
  const auto& models = r.data.models;
  const auto& environments = r.data.environments;
  double low = std::numeric_limits<double>::infinity(), high = 0;
  for (const StudyCell& c : r.cells) {
    if (c.median_energy_per_image_j > 0) {
      low = std::min(low, c.median_energy_per_image_j);
      high = std::max(high, c.median_energy_per_image_j);
    }
  }
  if (!(high > 0)) low = 0.1, high = 1;
  const double pad = std::max(std::log10(high / low) * 0.08, 0.05);
  Scale y{low / std::pow(10, pad), high * std::pow(10, pad), kHeight - kBottom, kTop, true};
  std::string out = open_svg("Median energy per image by environment, one line per model (log scale)");
  out += y_axis(y, log_ticks(y.d0, y.d1), "median energy per image (J, log scale)");
  const double step = (kWidth - kLeft - kRight) / static_cast<double>(std::max<size_t>(environments.size(), 1));
  auto x_of = [&](size_t e) { return kLeft + step * (static_cast<double>(e) + 0.5); };
  out += line(kLeft, kHeight - kBottom, kWidth - kRight, kHeight - kBottom, "class=\"frame\"");
  for (size_t e = 0; e < environments.size(); ++e)
    out += text(x_of(e), kHeight - kBottom + 18, environments[e], "text-anchor=\"middle\" class=\"category\"");
  out += text((kLeft + kWidth - kRight) / 2, kHeight - 14, "environment", "text-anchor=\"middle\"");
  for (size_t m = 0; m < models.size(); ++m) {
    std::string points, markers;
    for (size_t e = 0; e < environments.size(); ++e) {
      for (const StudyCell& c : r.cells) {
        if (c.model != models[m] || c.environment != environments[e] || !(c.median_energy_per_image_j > 0)) continue;
        points += num(x_of(e)) + "," + num(y(c.median_energy_per_image_j)) + " ";
        markers += "<circle class=\"cell-median\" cx=\"" + num(x_of(e)) + "\" cy=\"" +
                   num(y(c.median_energy_per_image_j)) + "\" r=\"4\" fill=\"" + colour(m) + "\"><title>" +
                   escape_xml(c.label) + ": median " + format_significant(c.median_energy_per_image_j, 3) +
                   " J per image</title></circle>";
      }
    }
    out += "<g data-model=\"" + escape_xml(models[m]) + "\"><polyline class=\"model-line\" points=\"" + points +
           "\" fill=\"none\" stroke=\"" + colour(m) + "\" stroke-width=\"2.5\" stroke-dasharray=\"" +
           kDashes[m % std::size(kDashes)] + "\"/>" + markers + "</g>\n";
  }
  out += legend(models, true);
  return out + "</svg>\n";
}

std::string pareto_scatter_svg(const std::vector<ParetoEntry>& entries, const std::string& cost_label,
                               const std::string& benefit_label) {
  double x_low = std::numeric_limits<double>::infinity(), x_high = -x_low, y_low = x_low, y_high = -x_low;
  for (const ParetoEntry& e : entries) {
    if (!std::isfinite(e.point.cost) || !std::isfinite(e.point.benefit)) continue;
    x_low = std::min(x_low, e.point.cost);
    x_high = std::max(x_high, e.point.cost);
    y_low = std::min(y_low, e.point.benefit);
    y_high = std::max(y_high, e.point.benefit);
  }
  std::string out = open_svg(benefit_label + " against " + cost_label + ", one point per configuration");
  if (!std::isfinite(x_low)) {
    out += text(kWidth / 2, kHeight / 2, "no configuration has both figures", "text-anchor=\"middle\"");
    return out + "</svg>\n";
  }
  const double x_pad = std::max((x_high - x_low) * 0.12, std::fabs(x_high) * 0.05 + 1e-12);
  const double y_pad = std::max((y_high - y_low) * 0.15, std::fabs(y_high) * 0.01 + 1e-12);
  // Costs (energy, time) are never negative: the axis starts at 0 at the lowest.
  const double x_start = x_low >= 0 ? std::max(0.0, x_low - x_pad) : x_low - x_pad;
  const std::vector<double> x_ticks = linear_ticks(x_start, x_high + x_pad, 6);
  const std::vector<double> y_ticks = linear_ticks(y_low - y_pad, y_high + y_pad, 5);
  Scale x{std::min(x_ticks.front(), x_start), std::max(x_ticks.back(), x_high + x_pad), kLeft, kWidth - kRight};
  Scale y{std::min(y_ticks.front(), y_low - y_pad), std::max(y_ticks.back(), y_high + y_pad), kHeight - kBottom, kTop};
  std::vector<double> inside_x, inside_y;
  for (double t : x_ticks)
    if (t >= x.d0 && t <= x.d1) inside_x.push_back(t);
  for (double t : y_ticks)
    if (t >= y.d0 && t <= y.d1) inside_y.push_back(t);
  out += y_axis(y, inside_y, benefit_label);
  out += x_axis_linear(x, inside_x, cost_label);
  // The front as a staircase from the cheapest point: everything below and
  // to the right of it is dominated.
  std::vector<const ParetoEntry*> front;
  for (const ParetoEntry& e : entries)
    if (e.on_front) front.push_back(&e);
  std::sort(front.begin(), front.end(),
            [](const ParetoEntry* a, const ParetoEntry* b) { return a->point.cost < b->point.cost; });
  std::string steps;
  for (size_t i = 0; i < front.size(); ++i) {
    if (i > 0) steps += num(x(front[i]->point.cost)) + "," + num(y(front[i - 1]->point.benefit)) + " ";
    steps += num(x(front[i]->point.cost)) + "," + num(y(front[i]->point.benefit)) + " ";
  }
  out += "<polyline class=\"pareto-front\" points=\"" + steps +
         "\" fill=\"none\" stroke=\"#009E73\" stroke-width=\"2\" stroke-dasharray=\"5 3\"/>\n";
  std::vector<Box> placed;  // labels so far, so that the next one avoids them
  for (const ParetoEntry& e : entries) {
    if (!std::isfinite(e.point.cost) || !std::isfinite(e.point.benefit)) continue;
    const double cx = x(e.point.cost), cy = y(e.point.benefit);
    const Placement at = place_label(cx, cy, e.point.label, &placed);
    out += "<g><circle class=\"pareto-point" + std::string(e.on_front ? " on-front" : " dominated") + "\" cx=\"" +
           num(cx) + "\" cy=\"" + num(cy) + "\" r=\"5\" fill=\"" + (e.on_front ? "#009E73" : "#fff") +
           "\" stroke=\"" + (e.on_front ? "#009E73" : "#555") + "\" stroke-width=\"1.5\"><title>" +
           escape_xml(e.point.label) + ": " + format_significant(e.point.cost, 3) + ", " +
           format_significant(e.point.benefit, 4) + (e.on_front ? " (on the front)" : " (dominated)") +
           "</title></circle>" +
           text(at.x, at.y, e.point.label,
                std::string("class=\"point-label\"") + (at.end_anchored ? " text-anchor=\"end\"" : "")) +
           "</g>\n";
  }
  return out + "</svg>\n";
}

}  // namespace wattlab
