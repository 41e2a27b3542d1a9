#include "wattlab/track/filter.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>

namespace wattlab {

namespace {

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' || c == ':' || c == '/';
}

// A hand-written scanner over the filter text; every error names the offset.
class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Result<Filter> filter() {
    Filter f;
    skip_space();
    if (at_end()) return f;
    for (;;) {
      auto c = comparison();
      if (!c.ok()) return c.status();
      f.comparisons.push_back(std::move(c).value());
      if (f.comparisons.size() > kMaxFilterComparisons) {
        return Status::invalid_argument("the filter has more than " + std::to_string(kMaxFilterComparisons) +
                                        " conditions; narrow it, or split the search");
      }
      skip_space();
      if (at_end()) return f;
      std::string word = read_word();
      if (upper(word) == "AND") continue;
      if (upper(word) == "OR") return error("OR is not supported; combine conditions with AND");
      return error("expected AND between conditions, found '" + (word.empty() ? std::string(1, s_[pos_]) : word) + "'");
    }
  }

  Result<OrderByTerm> order_by() {
    OrderByTerm term;
    skip_space();
    WATTLAB_RETURN_IF_ERROR(identifier(&term.entity, &term.key));
    skip_space();
    if (!at_end()) {
      std::string dir = upper(read_word());
      if (dir == "ASC") term.ascending = true;
      else if (dir == "DESC") term.ascending = false;
      else return error("expected ASC or DESC after the order_by field, found '" + dir + "'");
      skip_space();
      if (!at_end()) return error("unexpected text after ASC/DESC");
    }
    return term;
  }

 private:
  Status error(const std::string& what) const {
    return Status::invalid_argument("invalid filter '" + s_ + "' at character " + std::to_string(pos_ + 1) + ": " +
                                    what);
  }
  bool at_end() const { return pos_ >= s_.size(); }
  void skip_space() {
    while (!at_end() && std::isspace(static_cast<unsigned char>(s_[pos_]))) ++pos_;
  }
  std::string read_word() {
    size_t start = pos_;
    while (!at_end() && std::isalpha(static_cast<unsigned char>(s_[pos_]))) ++pos_;
    return s_.substr(start, pos_ - start);
  }

  // A quoted run closed by `quote`; a doubled quote stands for one.
  Result<std::string> quoted(char quote) {
    size_t start = pos_;
    ++pos_;
    std::string out;
    for (;;) {
      if (at_end()) {
        pos_ = start;
        return error(std::string("unterminated ") + quote + "quoted text");
      }
      char c = s_[pos_++];
      if (c == quote) {
        if (!at_end() && s_[pos_] == quote) {
          out += quote;
          ++pos_;
          continue;
        }
        return out;
      }
      out += c;
    }
  }

  Status identifier(FilterEntity* entity, std::string* key) {
    skip_space();
    if (at_end()) return error("expected a field such as metrics.accuracy");
    std::string head;
    if (s_[pos_] == '`' || s_[pos_] == '"') {
      auto q = quoted(s_[pos_]);
      if (!q.ok()) return q.status();
      *entity = FilterEntity::kAttribute;
      *key = *q;
      return Status();
    }
    size_t start = pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '_')) ++pos_;
    head = s_.substr(start, pos_ - start);
    if (head.empty()) return error("expected a field such as metrics.accuracy, found '" + std::string(1, s_[pos_]) + "'");
    if (at_end() || s_[pos_] != '.') {  // a bare attribute name: start_time, run_name, name...
      *entity = FilterEntity::kAttribute;
      *key = head;
      return Status();
    }
    const std::string type = lower(head);
    if (type == "metric" || type == "metrics") *entity = FilterEntity::kMetric;
    else if (type == "param" || type == "params" || type == "parameter" || type == "parameters")
      *entity = FilterEntity::kParam;
    else if (type == "tag" || type == "tags") *entity = FilterEntity::kTag;
    else if (type == "attribute" || type == "attributes" || type == "attr" || type == "run")
      *entity = FilterEntity::kAttribute;
    else {
      pos_ = start;
      return error("unknown entity '" + head + "'; use metrics., params., tags. or attributes.");
    }
    ++pos_;  // '.'
    if (at_end()) return error("expected a key after '" + head + ".'");
    if (s_[pos_] == '`' || s_[pos_] == '"') {
      auto q = quoted(s_[pos_]);
      if (!q.ok()) return q.status();
      *key = *q;
    } else {
      size_t key_start = pos_;
      while (!at_end() && is_key_char(s_[pos_])) ++pos_;
      *key = s_.substr(key_start, pos_ - key_start);
    }
    if (key->empty()) return error("empty key after '" + head + ".'");
    return Status();
  }

  Result<FilterValue> value() {
    skip_space();
    if (at_end()) return error("expected a value");
    FilterValue v;
    char c = s_[pos_];
    if (c == '\'' || c == '"') {
      auto q = quoted(c);
      if (!q.ok()) return q.status();
      v.text = *q;
      return v;
    }
    if (c == '`') return error("backticks quote keys, not values; quote values with ' or \"");
    size_t start = pos_;
    if (c == '+' || c == '-') ++pos_;
    while (!at_end() && (std::isalnum(static_cast<unsigned char>(s_[pos_])) || s_[pos_] == '.' ||
                         ((s_[pos_] == '+' || s_[pos_] == '-') && (s_[pos_ - 1] == 'e' || s_[pos_ - 1] == 'E'))))
      ++pos_;
    std::string num = s_.substr(start, pos_ - start);
    if (num.empty()) return error("expected a number or a quoted string, found '" + std::string(1, c) + "'");
    char* end = nullptr;
    errno = 0;
    double d = std::strtod(num.c_str(), &end);
    bool digits = num.find_first_of("0123456789") != std::string::npos;
    if (end != num.c_str() + num.size() || !digits || errno == ERANGE || !std::isfinite(d)) {
      pos_ = start;
      return error("'" + num + "' is not a number; quote strings with ' or \"");
    }
    v.is_number = true;
    v.number = d;
    return v;
  }

  Result<FilterComparison> comparison() {
    FilterComparison cmp;
    WATTLAB_RETURN_IF_ERROR(identifier(&cmp.entity, &cmp.key));
    skip_space();
    if (at_end()) return error("expected a comparison operator");
    char c = s_[pos_];
    auto two = [&](const char* t) { return s_.compare(pos_, 2, t) == 0; };
    if (two("!=")) { cmp.op = FilterOp::kNe; pos_ += 2; }
    else if (two(">=")) { cmp.op = FilterOp::kGe; pos_ += 2; }
    else if (two("<=")) { cmp.op = FilterOp::kLe; pos_ += 2; }
    else if (c == '=') { cmp.op = FilterOp::kEq; pos_ += 1; }
    else if (c == '>') { cmp.op = FilterOp::kGt; pos_ += 1; }
    else if (c == '<') { cmp.op = FilterOp::kLt; pos_ += 1; }
    else {
      size_t start = pos_;
      std::string word = upper(read_word());
      if (word == "LIKE") cmp.op = FilterOp::kLike;
      else if (word == "ILIKE") cmp.op = FilterOp::kILike;
      else if (word == "IN") cmp.op = FilterOp::kIn;
      else if (word == "NOT") {
        skip_space();
        if (upper(read_word()) != "IN") { pos_ = start; return error("expected NOT IN"); }
        cmp.op = FilterOp::kNotIn;
      } else {
        pos_ = start;
        return error("expected one of = != > >= < <= LIKE ILIKE IN after '" + cmp.key + "'");
      }
    }
    if (cmp.op == FilterOp::kIn || cmp.op == FilterOp::kNotIn) {
      skip_space();
      if (at_end() || s_[pos_] != '(') return error("expected '(' after IN");
      ++pos_;
      for (;;) {
        auto v = value();
        if (!v.ok()) return v.status();
        cmp.values.push_back(std::move(v).value());
        skip_space();
        if (!at_end() && s_[pos_] == ',') { ++pos_; continue; }
        if (!at_end() && s_[pos_] == ')') { ++pos_; break; }
        return error("expected ',' or ')' in the IN list");
      }
      return cmp;
    }
    auto v = value();
    if (!v.ok()) return v.status();
    cmp.values.push_back(std::move(v).value());
    return cmp;
  }

  const std::string& s_;
  size_t pos_ = 0;
};

// LIKE pattern (% and _) to the equivalent case-sensitive GLOB pattern.
std::string like_to_glob(const std::string& like) {
  std::string out;
  for (char c : like) {
    switch (c) {
      case '%': out += '*'; break;
      case '_': out += '?'; break;
      case '*': out += "[*]"; break;
      case '?': out += "[?]"; break;
      case '[': out += "[[]"; break;
      default: out += c;
    }
  }
  return out;
}

bool is_string_op(FilterOp op) {
  return op == FilterOp::kEq || op == FilterOp::kNe || op == FilterOp::kLike || op == FilterOp::kILike ||
         op == FilterOp::kIn || op == FilterOp::kNotIn;
}
bool is_numeric_op(FilterOp op) { return op <= FilterOp::kLe; }

const char* numeric_sql(FilterOp op) {
  switch (op) {
    case FilterOp::kEq: return "=";
    case FilterOp::kNe: return "!=";
    case FilterOp::kGt: return ">";
    case FilterOp::kGe: return ">=";
    case FilterOp::kLt: return "<";
    case FilterOp::kLe: return "<=";
    default: return "=";
  }
}

std::string describe(const FilterComparison& c) {
  return std::string(filter_entity_name(c.entity)) + "." + c.key;
}

// `column op value(s)` for string comparisons.
Status string_comparison(const FilterComparison& c, const std::string& column, SqlDialect dialect,
                         SqlFragment* out) {
  if (!is_string_op(c.op)) {
    return Status::invalid_argument(std::string("operator ") + filter_op_name(c.op) + " does not apply to " +
                                    describe(c) + "; use = != LIKE ILIKE IN");
  }
  for (const auto& v : c.values) {
    if (v.is_number) {
      return Status::invalid_argument("value of " + describe(c) + " must be a quoted string, e.g. '" +
                                      std::to_string(static_cast<int64_t>(v.number)) + "'");
    }
  }
  switch (c.op) {
    case FilterOp::kLike:
      if (dialect == SqlDialect::kPostgres) {
        out->sql += column + " LIKE ? ESCAPE ''";
        out->params.emplace_back(c.values[0].text);
      } else {
        out->sql += column + " GLOB ?";
        out->params.emplace_back(like_to_glob(c.values[0].text));
      }
      break;
    case FilterOp::kILike:
      out->sql += column + (dialect == SqlDialect::kPostgres ? " ILIKE ? ESCAPE ''" : " LIKE ?");
      out->params.emplace_back(c.values[0].text);
      break;
    case FilterOp::kIn:
    case FilterOp::kNotIn: {
      out->sql += column + (c.op == FilterOp::kIn ? " IN (" : " NOT IN (");
      for (size_t i = 0; i < c.values.size(); ++i) {
        out->sql += i ? ", ?" : "?";
        out->params.emplace_back(c.values[i].text);
      }
      out->sql += ")";
      break;
    }
    default:
      out->sql += column + " " + numeric_sql(c.op) + " ?";
      out->params.emplace_back(c.values[0].text);
  }
  return Status();
}

Status numeric_comparison(const FilterComparison& c, const std::string& column, bool integer, SqlFragment* out) {
  if (!is_numeric_op(c.op)) {
    return Status::invalid_argument(std::string("operator ") + filter_op_name(c.op) + " does not apply to " +
                                    describe(c) + "; use = != > >= < <=");
  }
  const FilterValue& v = c.values[0];
  if (!v.is_number) {
    return Status::invalid_argument("value of " + describe(c) + " must be a number, not the string '" + v.text + "'");
  }
  out->sql += column + " " + numeric_sql(c.op) + " ?";
  if (integer && v.number == std::floor(v.number) && std::fabs(v.number) < 9.0e18)
    out->params.emplace_back(static_cast<int64_t>(v.number));
  else
    out->params.emplace_back(v.number);
  return Status();
}

struct AttributeColumn {
  const char* name;
  const char* column;
  bool numeric;
};

constexpr AttributeColumn kRunAttributes[] = {
    {"run_id", "r.run_id", false},           {"run_name", "r.run_name", false},
    {"status", "r.status", false},           {"artifact_uri", "r.artifact_uri", false},
    {"start_time", "r.start_time_ms", true}, {"end_time", "r.end_time_ms", true},
    {"experiment_id", "r.experiment_id", true},
};
constexpr AttributeColumn kExperimentAttributes[] = {
    {"name", "e.name", false},
    {"experiment_id", "e.experiment_id", true},
    {"creation_time", "e.creation_time_ms", true},
    {"last_update_time", "e.last_update_time_ms", true},
};

template <size_t N>
Result<AttributeColumn> find_attribute(const AttributeColumn (&table)[N], const std::string& key) {
  for (const auto& a : table)
    if (key == a.name) return a;
  std::string names;
  for (const auto& a : table) names += (names.empty() ? "" : ", ") + std::string(a.name);
  return Status::invalid_argument("unknown attribute '" + key + "'; valid attributes are " + names);
}

Status compile_attribute(const AttributeColumn& a, const FilterComparison& c, SqlDialect dialect, SqlFragment* out) {
  return a.numeric ? numeric_comparison(c, a.column, true, out) : string_comparison(c, a.column, dialect, out);
}

// The SQL of an empty filter.
const char* match_all(SqlDialect dialect) { return dialect == SqlDialect::kPostgres ? "TRUE" : "1"; }

// The value of one metric/param/tag of the row, as a scalar subquery.
std::string keyed_value_sql(FilterEntity entity, const char* owner) {
  if (entity == FilterEntity::kMetric)
    return std::string("(SELECT lm.value FROM metric_series lm WHERE lm.run_id = ") + owner + ".run_id AND lm.key = ?)";
  if (entity == FilterEntity::kParam)
    return std::string("(SELECT p.value FROM params p WHERE p.run_id = ") + owner + ".run_id AND p.key = ?)";
  return std::string("(SELECT t.value FROM tags t WHERE t.run_id = ") + owner + ".run_id AND t.key = ?)";
}

Status check_duplicate(std::set<std::pair<int, std::string>>* seen, const OrderByTerm& t) {
  if (!seen->emplace(static_cast<int>(t.entity), t.key).second) {
    return Status::invalid_argument(std::string("order_by names ") + filter_entity_name(t.entity) + "." + t.key +
                                    " twice");
  }
  return Status();
}

}  // namespace

const char* filter_entity_name(FilterEntity entity) {
  switch (entity) {
    case FilterEntity::kMetric: return "metrics";
    case FilterEntity::kParam: return "params";
    case FilterEntity::kTag: return "tags";
    case FilterEntity::kAttribute: return "attributes";
  }
  return "?";
}

const char* filter_op_name(FilterOp op) {
  switch (op) {
    case FilterOp::kEq: return "=";
    case FilterOp::kNe: return "!=";
    case FilterOp::kGt: return ">";
    case FilterOp::kGe: return ">=";
    case FilterOp::kLt: return "<";
    case FilterOp::kLe: return "<=";
    case FilterOp::kLike: return "LIKE";
    case FilterOp::kILike: return "ILIKE";
    case FilterOp::kIn: return "IN";
    case FilterOp::kNotIn: return "NOT IN";
  }
  return "?";
}

Result<Filter> parse_filter(const std::string& text) { return Parser(text).filter(); }

Result<OrderByTerm> parse_order_by(const std::string& text) { return Parser(text).order_by(); }

Result<std::vector<OrderByTerm>> parse_order_by_list(const std::vector<std::string>& texts) {
  if (texts.size() > kMaxOrderByTerms) {
    return Status::invalid_argument("order_by has " + std::to_string(texts.size()) + " terms; at most " +
                                    std::to_string(kMaxOrderByTerms) + " are allowed");
  }
  std::vector<OrderByTerm> terms;
  terms.reserve(texts.size());
  for (const auto& text : texts) {
    auto term = parse_order_by(text);
    if (!term.ok()) return term.status();
    terms.push_back(std::move(*term));
  }
  return terms;
}

std::string number_placeholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  for (char c : sql) {
    if (c == '?') out += "$" + std::to_string(++n);
    else out += c;
  }
  return out;
}

Result<SqlFragment> compile_run_filter(const Filter& filter, SqlDialect dialect) {
  SqlFragment out;
  if (filter.comparisons.empty()) {
    out.sql = match_all(dialect);
    return out;
  }
  for (size_t i = 0; i < filter.comparisons.size(); ++i) {
    const FilterComparison& c = filter.comparisons[i];
    if (i) out.sql += " AND ";
    out.sql += "(";
    switch (c.entity) {
      case FilterEntity::kMetric:
        // An uncorrelated IN: the matching runs come from one range of
        // metric_series_by_key_value (key, value) instead of one probe per run.
        out.sql += "r.run_id IN (SELECT lm.run_id FROM metric_series lm WHERE lm.key = ? AND ";
        out.params.emplace_back(c.key);
        // PostgreSQL keeps NaN, which compares greater than every number;
        // SQLite's NULL matches no comparison, and neither may NaN.
        if (dialect == SqlDialect::kPostgres) out.sql += "lm.value <> 'NaN'::float8 AND ";
        WATTLAB_RETURN_IF_ERROR(numeric_comparison(c, "lm.value", false, &out));
        out.sql += ")";
        break;
      case FilterEntity::kParam:
      case FilterEntity::kTag: {
        const bool param = c.entity == FilterEntity::kParam;
        if (c.op == FilterOp::kEq && !c.values.empty() && !c.values[0].is_number) {
          // An uncorrelated IN, as for metrics: the runs with that value come from one range of
          // {tags,params}_by_key_value (PostgreSQL indexes md5(value): values may exceed a b-tree entry).
          const char* table = param ? "params" : "tags";
          out.sql += std::string("r.run_id IN (SELECT kv.run_id FROM ") + table + " kv WHERE kv.key = ? AND ";
          out.params.emplace_back(c.key);
          if (dialect == SqlDialect::kPostgres) {
            out.sql += "md5(kv.value) = md5(?) AND ";
            out.params.emplace_back(c.values[0].text);
          }
          out.sql += "kv.value = ?)";
          out.params.emplace_back(c.values[0].text);
          break;
        }
        out.sql += param ? "EXISTS (SELECT 1 FROM params p WHERE p.run_id = r.run_id AND p.key = ? AND "
                         : "EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.run_id AND t.key = ? AND ";
        out.params.emplace_back(c.key);
        WATTLAB_RETURN_IF_ERROR(string_comparison(c, param ? "p.value" : "t.value", dialect, &out));
        out.sql += ")";
        break;
      }
      case FilterEntity::kAttribute: {
        auto a = find_attribute(kRunAttributes, c.key);
        if (!a.ok()) return a.status();
        WATTLAB_RETURN_IF_ERROR(compile_attribute(*a, c, dialect, &out));
        break;
      }
    }
    out.sql += ")";
  }
  return out;
}

Result<SqlFragment> compile_run_order_by(const std::vector<OrderByTerm>& terms, SqlDialect dialect) {
  SqlFragment out;
  std::set<std::pair<int, std::string>> seen;
  bool has_start_time = false;
  for (const auto& t : terms) {
    WATTLAB_RETURN_IF_ERROR(check_duplicate(&seen, t));
    const char* dir = t.ascending ? " ASC" : " DESC";
    if (t.entity == FilterEntity::kAttribute) {
      auto a = find_attribute(kRunAttributes, t.key);
      if (!a.ok()) return a.status();
      if (t.key == "start_time") has_start_time = true;
      out.sql += std::string(a->column) + " IS NULL, " + a->column + dir + ", ";
      continue;
    }
    std::string value = keyed_value_sql(t.entity, "r");
    // PostgreSQL sorts NaN above every number; as NULL it sorts like SQLite's
    // stored NaN: last, and tied with the missing values.
    if (dialect == SqlDialect::kPostgres && t.entity == FilterEntity::kMetric) value = "NULLIF(" + value + ", 'NaN'::float8)";
    out.sql += value + " IS NULL, " + value + dir + ", ";
    out.params.emplace_back(t.key);
    out.params.emplace_back(t.key);
  }
  if (!has_start_time) out.sql += "r.start_time_ms DESC, ";
  out.sql += "r.run_id ASC";
  return out;
}

Result<SqlFragment> compile_experiment_filter(const Filter& filter, SqlDialect dialect) {
  SqlFragment out;
  if (filter.comparisons.empty()) {
    out.sql = match_all(dialect);
    return out;
  }
  for (size_t i = 0; i < filter.comparisons.size(); ++i) {
    const FilterComparison& c = filter.comparisons[i];
    if (i) out.sql += " AND ";
    out.sql += "(";
    if (c.entity == FilterEntity::kTag) {
      out.sql += "EXISTS (SELECT 1 FROM experiment_tags et WHERE et.experiment_id = e.experiment_id AND et.key = ? AND ";
      out.params.emplace_back(c.key);
      WATTLAB_RETURN_IF_ERROR(string_comparison(c, "et.value", dialect, &out));
      out.sql += ")";
    } else if (c.entity == FilterEntity::kAttribute) {
      auto a = find_attribute(kExperimentAttributes, c.key);
      if (!a.ok()) return a.status();
      WATTLAB_RETURN_IF_ERROR(compile_attribute(*a, c, dialect, &out));
    } else {
      return Status::invalid_argument(std::string("experiments cannot be filtered by ") + describe(c) +
                                      "; use name, creation_time, last_update_time or tags.");
    }
    out.sql += ")";
  }
  return out;
}

Result<SqlFragment> compile_experiment_order_by(const std::vector<OrderByTerm>& terms, SqlDialect dialect) {
  SqlFragment out;
  std::set<std::pair<int, std::string>> seen;
  bool has_id = false;
  for (const auto& t : terms) {
    WATTLAB_RETURN_IF_ERROR(check_duplicate(&seen, t));
    if (t.entity != FilterEntity::kAttribute) {
      return Status::invalid_argument(std::string("experiments cannot be ordered by ") + filter_entity_name(t.entity) +
                                      "." + t.key + "; use name, experiment_id, creation_time or last_update_time");
    }
    auto a = find_attribute(kExperimentAttributes, t.key);
    if (!a.ok()) return a.status();
    if (t.key == "experiment_id") has_id = true;
    out.sql += std::string(a->column) + (t.ascending ? " ASC" : " DESC") + ", ";
  }
  if (terms.empty()) out.sql += "e.creation_time_ms DESC, ";
  if (!has_id) out.sql += "e.experiment_id ASC, ";
  out.sql.resize(out.sql.size() - 2);
  return out;
}

}  // namespace wattlab
