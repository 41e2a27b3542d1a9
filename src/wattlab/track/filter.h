// MLflow's search language: a filter ("metrics.f1 > 0.9 AND params.model =
// 'cnn'") and order_by terms ("metrics.accuracy DESC"), parsed to an AST and
// compiled to parameterised SQL. Values from the user only ever travel as
// bound parameters; keys too. The SQL text depends only on the filter's
// structure, never on its values.
//
// Grammar (keywords case-insensitive):
//   filter     := comparison { AND comparison }
//   comparison := identifier op value | identifier [NOT] IN '(' value {',' value} ')'
//   identifier := entity '.' key | attribute-name
//   entity     := metric(s) | param(s) | parameter(s) | tag(s) | attribute(s) | attr | run
//   key        := unquoted (letters, digits, _ - . : /) | `backticked` | "double-quoted"
//   op         := = | != | > | >= | < | <= | LIKE | ILIKE
//   value      := number | 'single-quoted' | "double-quoted"   ('' or "" escape the quote)
// OR is not supported (as in MLflow).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "wattlab/core/status.h"

namespace wattlab {

enum class FilterEntity { kMetric, kParam, kTag, kAttribute };
enum class FilterOp { kEq, kNe, kGt, kGe, kLt, kLe, kLike, kILike, kIn, kNotIn };

// "metrics", "params", "tags", "attributes"; "=", "LIKE", "NOT IN" ...
const char* filter_entity_name(FilterEntity entity);
const char* filter_op_name(FilterOp op);

struct FilterValue {
  bool is_number = false;
  double number = 0;  // when is_number
  std::string text;   // when !is_number (the unquoted string)
};

// One `identifier op value` term. `values` has one element unless op is IN / NOT IN.
struct FilterComparison {
  FilterEntity entity = FilterEntity::kAttribute;
  std::string key;
  FilterOp op = FilterOp::kEq;
  std::vector<FilterValue> values;
};

// The AND of its comparisons; empty matches everything.
struct Filter {
  std::vector<FilterComparison> comparisons;
};

struct OrderByTerm {
  FilterEntity entity = FilterEntity::kAttribute;
  std::string key;
  bool ascending = true;
};

// The most conditions a filter, and terms an order_by list, may have: SQL
// databases bound a statement's expression depth (SQLite at 1,000), so
// longer ones are refused here, as the caller's error.
inline constexpr size_t kMaxFilterComparisons = 100;
inline constexpr size_t kMaxOrderByTerms = 50;

// Syntax only: InvalidArgument naming the position and the token at fault
// (and for more than kMaxFilterComparisons conditions).
// Which keys and operators an entity accepts is checked when compiling.
Result<Filter> parse_filter(const std::string& text);
// "metrics.accuracy DESC", "attributes.start_time", "start_time ASC".
Result<OrderByTerm> parse_order_by(const std::string& text);
// Each of a search's order_by clauses, in order; the first error
// (InvalidArgument for more than kMaxOrderByTerms).
Result<std::vector<OrderByTerm>> parse_order_by_list(const std::vector<std::string>& texts);

// A bound parameter of compiled SQL.
using SqlValue = std::variant<int64_t, double, std::string>;

// SQL text with positional '?' placeholders and their values, in order.
struct SqlFragment {
  std::string sql;
  std::vector<SqlValue> params;
};

// Which database the compiled SQL is for. Both use '?' placeholders in a
// fragment (fragments are concatenated, so numbers are only known at the
// end); a PostgreSQL caller turns the assembled statement's placeholders
// into $1..$n with number_placeholders().
//   kSqlite    the SQLite schema: NaN metric values are stored as NULL;
//              LIKE is case-sensitive GLOB, ILIKE is SQLite's LIKE.
//   kPostgres  the PostgreSQL schema: NaN is stored as NaN and excluded from
//              comparisons and sorted with the missing values, as SQLite's
//              NULL is; LIKE / ILIKE with no escape character (a backslash
//              is literal, as in SQLite's GLOB); an empty filter is TRUE.
enum class SqlDialect { kSqlite, kPostgres };

// `sql` with its n-th '?' replaced by "$n" (1-based), for PostgreSQL. Only
// compiled SQL may be passed: user values never appear in it, so every '?'
// is a placeholder.
std::string number_placeholders(const std::string& sql);

// A boolean SQL expression over the runs table aliased `r` (columns of the
// store schema, the same in both dialects: run_id, run_name, status,
// start_time_ms, ...; metrics are compared against the latest values in metric_series). "1"
// (TRUE) for an empty filter. InvalidArgument for an unknown attribute, an
// operator the entity does not take (metrics: = != > >= < <=; params, tags,
// string attributes: = != LIKE ILIKE IN NOT IN), or a value of the wrong kind
// (a string for a metric, a number for a param).
Result<SqlFragment> compile_run_filter(const Filter& filter, SqlDialect dialect = SqlDialect::kSqlite);
// ORDER BY expressions (without the keywords) for runs aliased `r`: the terms,
// missing and NaN values last whatever the direction, then start_time DESC
// unless ordered by it, then run_id — MLflow's order. InvalidArgument for an
// unknown attribute or a field given twice.
Result<SqlFragment> compile_run_order_by(const std::vector<OrderByTerm>& terms,
                                         SqlDialect dialect = SqlDialect::kSqlite);

// The same for experiments aliased `e`: attributes name, experiment_id,
// creation_time, last_update_time; tags. Default order: creation_time DESC,
// then experiment_id ASC.
Result<SqlFragment> compile_experiment_filter(const Filter& filter, SqlDialect dialect = SqlDialect::kSqlite);
Result<SqlFragment> compile_experiment_order_by(const std::vector<OrderByTerm>& terms,
                                                SqlDialect dialect = SqlDialect::kSqlite);

}  // namespace wattlab
