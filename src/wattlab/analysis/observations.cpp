#include "wattlab/analysis/observations.h"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>

namespace wattlab {

namespace {

// "12.5" as a finite double; nullopt for anything else (empty, "n/a", "nan").
std::optional<double> parse_number(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  size_t end = text.find_last_not_of(" \t");
  if (begin == std::string::npos) return std::nullopt;
  double value = 0;
  const char* first = text.data() + begin;
  const char* last = text.data() + end + 1;
  if (*first == '+') ++first;
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || !std::isfinite(value)) return std::nullopt;
  return value;
}

// Splits CSV text into records of fields. InvalidArgument naming the line of
// an unterminated quote.
Result<std::vector<std::vector<std::string>>> split_csv(const std::string& text, const std::string& source) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  size_t line = 1, quote_line = 0;
  auto end_record = [&] {
    if (field_started || !record.empty()) {
      record.push_back(std::move(field));
      records.push_back(std::move(record));
    }
    record.clear();
    field.clear();
    field_started = false;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
      field_started = true;
      quote_line = line;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
      field_started = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      end_record();
      ++line;
    } else {
      field += c;
      field_started = true;
    }
  }
  if (quoted) {
    return Status::invalid_argument(source + ": the quote opened on line " + std::to_string(quote_line) +
                                    " is never closed");
  }
  end_record();
  return records;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string format_metric(double v) {
  std::ostringstream s;
  s.precision(17);
  s << v;
  return s.str();
}

std::string quoted_literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

Status check_columns(const ObservationColumns& columns) {
  if (columns.by.empty() || columns.by.size() > 2) {
    return Status::invalid_argument("group by one or two columns (--by), got " + std::to_string(columns.by.size()));
  }
  if (columns.value.empty()) return Status::invalid_argument("name the column to compare (--value)");
  return Status::ok_status();
}

}  // namespace

Result<Observations> parse_csv_observations(const std::string& text, const ObservationColumns& columns,
                                            const std::string& source) {
  WATTLAB_RETURN_IF_ERROR(check_columns(columns));
  auto records = split_csv(text, source);
  if (!records.ok()) return records.status();
  if (records->empty()) return Status::invalid_argument(source + " is empty: it needs a header row and data rows");
  const std::vector<std::string>& header = records->front();
  auto find_column = [&](const std::string& name) -> Result<size_t> {
    for (size_t i = 0; i < header.size(); ++i)
      if (header[i] == name) return i;
    return Status::invalid_argument(source + " has no column \"" + name + "\"; its columns are: " + join(header));
  };
  std::vector<size_t> by_index;
  for (const auto& name : columns.by) {
    auto index = find_column(name);
    if (!index.ok()) return index.status();
    by_index.push_back(*index);
  }
  auto value_index = find_column(columns.value);
  if (!value_index.ok()) return value_index.status();
  std::optional<size_t> correlate_index;
  if (!columns.correlate.empty()) {
    auto index = find_column(columns.correlate);
    if (!index.ok()) return index.status();
    correlate_index = *index;
  }

  Observations o;
  o.value_name = columns.value;
  o.factor_names = columns.by;
  o.factor_levels.resize(columns.by.size());
  o.correlate_name = columns.correlate;
  for (size_t r = 1; r < records->size(); ++r) {
    const auto& row = (*records)[r];
    if (row.size() != header.size()) {
      return Status::invalid_argument(source + ": data row " + std::to_string(r) + " has " +
                                      std::to_string(row.size()) + " fields, the header " +
                                      std::to_string(header.size()));
    }
    auto value = parse_number(row[*value_index]);
    if (!value) {
      ++o.dropped_rows;
      continue;
    }
    o.values.push_back(*value);
    for (size_t f = 0; f < by_index.size(); ++f) o.factor_levels[f].push_back(row[by_index[f]]);
    if (correlate_index) o.correlate_values.push_back(parse_number(row[*correlate_index]).value_or(NAN));
  }
  if (o.dropped_rows > 0) o.dropped_reason = "no number in column \"" + columns.value + "\"";
  return o;
}

Result<Observations> read_csv_observations(const std::string& path, const ObservationColumns& columns) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found("cannot open CSV file " + path + " — check the path");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::io_error("cannot read " + path);
  return parse_csv_observations(text.str(), columns, path);
}

std::string describe_selection(const RunSelection& s) {
  std::vector<std::string> parts;
  if (!s.experiment.empty()) parts.push_back("experiment '" + s.experiment + "'");
  if (!s.study.empty()) parts.push_back("study '" + s.study + "'");
  if (!s.filter.empty()) parts.push_back("filter \"" + s.filter + "\"");
  return parts.empty() ? "all runs" : join(parts);
}

Result<std::vector<RunData>> select_runs(Store& store, const RunSelection& selection) {
  SearchRunsOptions search;
  if (!selection.experiment.empty()) {
    auto experiment = store.get_experiment_by_name(selection.experiment);
    if (!experiment.ok()) {
      return Status::not_found("no experiment named \"" + selection.experiment +
                               "\" in the store — list runs with `wattlab runs ls`");
    }
    search.experiment_ids = std::vector<std::string>{experiment->experiment_id};
  }
  std::vector<std::string> clauses;
  if (!selection.study.empty()) {
    clauses.push_back("tags.`wattlab.study` = " + quoted_literal(selection.study));
    clauses.push_back("tags.`wattlab.study.role` = 'trial'");
  }
  if (!selection.filter.empty()) clauses.push_back(selection.filter);
  for (const auto& c : clauses) search.filter += (search.filter.empty() ? "" : " AND ") + c;
  search.max_results = kSearchMaxResultsLimit;
  std::vector<RunData> runs;
  do {
    auto page = store.search_runs(search);
    if (!page.ok()) return page.status();
    for (auto& run : page->runs) runs.push_back(std::move(run));
    search.page_token = page->next_page_token;
  } while (!search.page_token.empty());
  return runs;
}

Status check_run_field_key(const std::string& key) {
  for (const char* prefix : {"metrics.", "params.", "tags.", "attributes."}) {
    const std::string p = prefix;
    if (key.size() > p.size() && key.compare(0, p.size(), p) == 0) return Status::ok_status();
  }
  return Status::invalid_argument("field \"" + key +
                                  "\": name it as the filter language does, e.g. metrics.energy_per_image_j, "
                                  "params.model, tags.wattlab.study.environment, attributes.run_name");
}

std::optional<std::string> run_field(const RunData& run, const std::string& key) {
  auto lookup = [](const std::map<std::string, std::string>& map, const std::string& k) -> std::optional<std::string> {
    auto it = map.find(k);
    return it == map.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  const size_t dot = key.find('.');
  if (dot == std::string::npos) return std::nullopt;
  const std::string entity = key.substr(0, dot), name = key.substr(dot + 1);
  if (entity == "metrics") {
    auto it = run.latest_metrics.find(name);
    if (it == run.latest_metrics.end()) return std::nullopt;
    return format_metric(it->second.value);
  }
  if (entity == "params") return lookup(run.params, name);
  if (entity == "tags") return lookup(run.tags, name);
  if (entity == "attributes") {
    const RunInfo& i = run.info;
    if (name == "run_id") return i.run_id;
    if (name == "run_name") return i.run_name;
    if (name == "status") return std::string(run_status_name(i.status));
    if (name == "experiment_id") return i.experiment_id;
    if (name == "start_time") return std::to_string(i.start_time_ms);
    if (name == "end_time") return i.end_time_ms ? std::optional<std::string>(std::to_string(*i.end_time_ms)) : std::nullopt;
    if (name == "duration_s" && i.end_time_ms)
      return format_metric(static_cast<double>(*i.end_time_ms - i.start_time_ms) / 1000.0);
  }
  return std::nullopt;
}

Result<Observations> observations_from_runs(const std::vector<RunData>& runs, const ObservationColumns& columns) {
  WATTLAB_RETURN_IF_ERROR(check_columns(columns));
  for (const auto& key : columns.by) WATTLAB_RETURN_IF_ERROR(check_run_field_key(key));
  WATTLAB_RETURN_IF_ERROR(check_run_field_key(columns.value));
  if (!columns.correlate.empty()) WATTLAB_RETURN_IF_ERROR(check_run_field_key(columns.correlate));
  Observations o;
  o.value_name = columns.value;
  o.factor_names = columns.by;
  o.factor_levels.resize(columns.by.size());
  o.correlate_name = columns.correlate;
  size_t unfinished = 0, without_value = 0, without_group = 0;
  for (const RunData& run : runs) {
    if (run.info.status != RunStatus::kFinished) {
      ++unfinished;
      continue;
    }
    auto text = run_field(run, columns.value);
    auto value = text ? parse_number(*text) : std::nullopt;
    if (!value) {
      ++without_value;
      continue;
    }
    std::vector<std::string> levels;
    for (const auto& key : columns.by) {
      auto level = run_field(run, key);
      if (!level) break;
      levels.push_back(*level);
    }
    if (levels.size() != columns.by.size()) {
      ++without_group;
      continue;
    }
    o.values.push_back(*value);
    for (size_t f = 0; f < levels.size(); ++f) o.factor_levels[f].push_back(std::move(levels[f]));
    if (!columns.correlate.empty()) {
      auto other = run_field(run, columns.correlate);
      o.correlate_values.push_back(other ? parse_number(*other).value_or(NAN) : NAN);
    }
  }
  std::vector<std::string> reasons;
  if (unfinished > 0) reasons.push_back(std::to_string(unfinished) + " not FINISHED");
  if (without_value > 0) reasons.push_back(std::to_string(without_value) + " without a number in " + columns.value);
  if (without_group > 0) reasons.push_back(std::to_string(without_group) + " without " + join(columns.by));
  o.dropped_rows = unfinished + without_value + without_group;
  o.dropped_reason = join(reasons);
  return o;
}

}  // namespace wattlab
