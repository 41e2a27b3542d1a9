#include "wattlab/analysis/compare.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <map>
#include <numeric>
#include <thread>
#include <unordered_map>

namespace wattlab {

namespace {

Status validate(const Observations& o, const CompareOptions& options) {
  if (o.factor_names.empty() || o.factor_names.size() > 2) {
    return Status::invalid_argument("compare groups by one or two columns (--by), got " +
                                    std::to_string(o.factor_names.size()));
  }
  if (o.factor_levels.size() != o.factor_names.size()) {
    return Status::invalid_argument("compare: " + std::to_string(o.factor_names.size()) + " factors named but " +
                                    std::to_string(o.factor_levels.size()) + " columns of levels given");
  }
  for (const auto& column : o.factor_levels) {
    if (column.size() != o.values.size()) {
      return Status::invalid_argument("compare: a factor column has " + std::to_string(column.size()) +
                                      " rows and the values " + std::to_string(o.values.size()));
    }
  }
  if (!o.correlate_name.empty() && o.correlate_values.size() != o.values.size()) {
    return Status::invalid_argument("compare: '" + o.correlate_name + "' has " +
                                    std::to_string(o.correlate_values.size()) + " rows and the values " +
                                    std::to_string(o.values.size()));
  }
  if (o.values.empty()) {
    return Status::invalid_argument("no rows to compare" +
                                    (o.dropped_rows > 0 ? " (" + std::to_string(o.dropped_rows) + " dropped: " +
                                                              o.dropped_reason + ")"
                                                        : std::string()) +
                                    " — check the value column and the selection");
  }
  if (!(options.alpha > 0 && options.alpha < 1)) {
    return Status::invalid_argument("alpha must lie between 0 and 1 (got " + format_value(options.alpha) + ")");
  }
  return validate(options.bootstrap);
}

// Level index of every row for one factor, levels in sorted order.
struct Coded {
  std::vector<std::string> levels;
  std::vector<uint32_t> codes;
};

Coded code_levels(const std::vector<std::string>& column) {
  std::unordered_map<std::string, uint32_t> first_seen;
  std::vector<uint32_t> provisional(column.size());
  std::vector<std::string> names;
  for (size_t i = 0; i < column.size(); ++i) {
    auto [it, inserted] = first_seen.emplace(column[i], static_cast<uint32_t>(names.size()));
    if (inserted) names.push_back(column[i]);
    provisional[i] = it->second;
  }
  std::vector<uint32_t> order(names.size());
  std::iota(order.begin(), order.end(), 0u);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) { return names[a] < names[b]; });
  std::vector<uint32_t> rank(names.size());
  Coded out;
  for (uint32_t r = 0; r < order.size(); ++r) {
    rank[order[r]] = r;
    out.levels.push_back(names[order[r]]);
  }
  out.codes.resize(column.size());
  for (size_t i = 0; i < column.size(); ++i) out.codes[i] = rank[provisional[i]];
  return out;
}

// Runs work(i) for every i in [0, count) on up to one thread per CPU. Each
// call must touch only its own outputs.
void parallel_for(size_t count, const std::function<void(size_t)>& work) {
  const size_t threads = std::min<size_t>(count, std::max(1u, std::thread::hardware_concurrency()));
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < count; i = next++) work(i);
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
}

void fill_pairs(CompareResult* r, const std::vector<Sample>& samples) {
  std::vector<double> p_values;
  std::vector<size_t> tested;  // pairs whose Mann–Whitney test ran
  for (size_t a = 0; a < samples.size(); ++a) {
    for (size_t b = a + 1; b < samples.size(); ++b) {
      PairComparison pair;
      pair.first = a;
      pair.second = b;
      pair.mann_whitney = mann_whitney_u(samples[a], samples[b]);
      if (pair.mann_whitney.ok()) {
        pair.cliffs_delta = cliffs_delta_from_u(pair.mann_whitney->u, samples[a].values.size(),
                                                samples[b].values.size());
        p_values.push_back(pair.mann_whitney->p_value);
        tested.push_back(r->pairs.size());
      } else {
        pair.cliffs_delta = cliffs_delta(samples[a], samples[b]);
      }
      r->pairs.push_back(std::move(pair));
    }
  }
  const std::vector<double> adjusted = adjust_p_values(p_values, r->options.adjustment);
  for (size_t i = 0; i < tested.size(); ++i) r->pairs[tested[i]].mann_whitney_p_adjusted = adjusted[i];
  if (r->dunn.ok()) {
    for (size_t i = 0; i < r->pairs.size(); ++i) r->pairs[i].dunn = r->dunn->pairs[i];
  }
  if (r->games_howell.ok()) {
    for (size_t i = 0; i < r->pairs.size(); ++i) r->pairs[i].games_howell = r->games_howell->pairs[i];
  }
}

}  // namespace

Result<CompareResult> compare(const Observations& o, const CompareOptions& options) {
  WATTLAB_RETURN_IF_ERROR(validate(o, options));
  CompareResult r;
  r.value_name = o.value_name;
  r.factor_names = o.factor_names;
  r.correlate_name = o.correlate_name;
  r.n = o.values.size();
  r.dropped_rows = o.dropped_rows;
  r.dropped_reason = o.dropped_reason;
  r.options = options;

  std::vector<Coded> factors;
  for (const auto& column : o.factor_levels) factors.push_back(code_levels(column));
  const size_t b_count = factors.size() == 2 ? factors[1].levels.size() : 1;
  // Groups are the occupied cells, in (first factor, second factor) order.
  std::map<size_t, size_t> group_of_cell;
  std::vector<size_t> cell_of_row(r.n);
  for (size_t i = 0; i < r.n; ++i) {
    cell_of_row[i] = factors[0].codes[i] * b_count + (factors.size() == 2 ? factors[1].codes[i] : 0);
    group_of_cell.emplace(cell_of_row[i], 0);
  }
  for (auto& [cell, group] : group_of_cell) {
    group = r.groups.size();
    GroupSummary g;
    g.levels.push_back(factors[0].levels[cell / b_count]);
    if (factors.size() == 2) g.levels.push_back(factors[1].levels[cell % b_count]);
    g.name = g.levels.size() == 2 ? g.levels[0] + " / " + g.levels[1] : g.levels[0];
    r.groups.push_back(std::move(g));
  }
  for (size_t i = 0; i < r.n; ++i) r.groups[group_of_cell[cell_of_row[i]]].values.push_back(o.values[i]);

  std::vector<Sample> samples;
  for (const GroupSummary& g : r.groups) samples.push_back({g.name, g.values});
  // The bootstrap is most of the work; each group's is seeded alike, so the
  // result does not depend on the threads.
  parallel_for(samples.size(), [&](size_t i) {
    r.groups[i].descriptives = describe(samples[i], options.bootstrap);
    r.groups[i].normality = shapiro_wilk(samples[i]);
  });
  r.levene = levene_median(samples);
  r.kruskal_wallis = kruskal_wallis(samples);
  r.dunn = dunn(samples, options.adjustment);
  r.welch_anova = welch_anova(samples);
  r.games_howell = games_howell(samples);
  fill_pairs(&r, samples);

  if (factors.size() == 2) {
    TwoFactorData data{o.factor_names[0], o.factor_names[1], factors[0].levels, factors[1].levels,
                       factors[0].codes,  factors[1].codes,  o.values};
    r.two_way_anova = two_way_anova_log(data);
  }
  if (!o.correlate_name.empty()) {
    Sample x{o.value_name, {}}, y{o.correlate_name, {}};
    for (size_t i = 0; i < r.n; ++i) {
      if (std::isfinite(o.correlate_values[i])) {
        x.values.push_back(o.values[i]);
        y.values.push_back(o.correlate_values[i]);
      }
    }
    r.spearman = spearman(x, y, options.correlate_alternative);
  }
  return r;
}

}  // namespace wattlab
