#include "wattlab/server/log_batch_reader.h"

#include <charconv>
#include <cmath>
#include <cstdint>
#include <utility>

namespace wattlab {

namespace {

// A cursor over the body. Every read_* returns false, consuming an unknown
// amount, when the text at the cursor is not what it reads.
class Cursor {
 public:
  explicit Cursor(std::string_view text) : p_(text.data()), end_(text.data() + text.size()) {}

  // Skips JSON whitespace; true if `c` follows, which is then consumed.
  bool consume(char c) {
    skip_space();
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }

  // True at the end of the text, JSON whitespace aside.
  bool at_end() {
    skip_space();
    return p_ == end_;
  }

  // A string of printable ASCII without escapes, as a view into the text
  // (which then is exactly its value).
  bool read_string(std::string_view* out) {
    if (!consume('"')) return false;
    const char* start = p_;
    for (; p_ != end_; ++p_) {
      const unsigned char c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        *out = std::string_view(start, static_cast<size_t>(p_ - start));
        ++p_;
        return true;
      }
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
    }
    return false;
  }

  bool read_string(std::string* out) {
    std::string_view view;
    if (!read_string(&view)) return false;
    out->assign(view);
    return true;
  }

  // A JSON integer within int64 (not "1.0", not "1e3": nlohmann makes floats
  // of those, which the general path treats differently).
  bool read_int64(int64_t* out) {
    bool is_float = false;
    std::string_view token;
    if (!read_number(&token, &is_float) || is_float) return false;
    auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), *out);
    return error == std::errc() && end == token.data() + token.size();
  }

  // A JSON number as nlohmann reads it and get<double>() converts it: an
  // integer through int64, anything else correctly rounded (strtod's value,
  // which from_chars also gives); finite only (nlohmann refuses overflow).
  bool read_double(double* out) {
    bool is_float = false;
    std::string_view token;
    if (!read_number(&token, &is_float)) return false;
    if (!is_float) {
      int64_t n = 0;
      auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), n);
      if (error != std::errc() || end != token.data() + token.size()) return false;
      *out = static_cast<double>(n);
      return true;
    }
    auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), *out);
    return error == std::errc() && end == token.data() + token.size() && std::isfinite(*out);
  }

 private:
  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool digit() const { return p_ != end_ && *p_ >= '0' && *p_ <= '9'; }

  // A token of JSON's number grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
  bool read_number(std::string_view* token, bool* is_float) {
    skip_space();
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (!digit()) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (digit()) ++p_;
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
      *is_float = true;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
      *is_float = true;
    }
    *token = std::string_view(start, static_cast<size_t>(p_ - start));
    return true;
  }

  const char* p_;
  const char* end_;
};

// Reads `{ "name": <member>, ... }`, calling read_member(cursor, name) for
// each member (false: give up). An empty object is read too.
template <typename ReadMember>
bool read_object(Cursor& in, ReadMember read_member) {
  if (!in.consume('{')) return false;
  if (in.consume('}')) return true;
  do {
    std::string_view name;
    if (!in.read_string(&name) || !in.consume(':') || !read_member(in, name)) return false;
  } while (in.consume(','));
  return in.consume('}');
}

// Reads `[ <element>, ... ]`, calling read_element(cursor) for each.
template <typename ReadElement>
bool read_array(Cursor& in, ReadElement read_element) {
  if (!in.consume('[')) return false;
  if (in.consume(']')) return true;
  do {
    if (!read_element(in)) return false;
  } while (in.consume(','));
  return in.consume(']');
}

// True the first time it is called on `seen` (a member read twice is
// declined: nlohmann would keep the last, silently).
bool once(bool* seen) { return !std::exchange(*seen, true); }

bool read_metric(Cursor& in, Metric* m) {
  bool has_key = false, has_value = false, has_timestamp = false, has_step = false;
  bool read = read_object(in, [&](Cursor& c, std::string_view name) {
    if (name == "key") return once(&has_key) && c.read_string(&m->key);
    if (name == "value") return once(&has_value) && c.read_double(&m->value);
    if (name == "timestamp") return once(&has_timestamp) && c.read_int64(&m->timestamp_ms);
    if (name == "step") return once(&has_step) && c.read_int64(&m->step);
    return false;
  });
  return read && has_key && !m->key.empty() && has_value && has_timestamp;
}

// A param or a tag: {"key": ..., "value": ...}.
template <typename KeyValue>
bool read_key_value(Cursor& in, KeyValue* kv) {
  bool has_key = false, has_value = false;
  bool read = read_object(in, [&](Cursor& c, std::string_view name) {
    if (name == "key") return once(&has_key) && c.read_string(&kv->key);
    if (name == "value") return once(&has_value) && c.read_string(&kv->value);
    return false;
  });
  return read && has_key && !kv->key.empty();
}

template <typename T, typename ReadOne>
bool read_list(Cursor& in, std::vector<T>* out, ReadOne read_one) {
  return read_array(in, [&](Cursor& c) { return read_one(c, &out->emplace_back()); });
}

}  // namespace

std::optional<LogBatchRequest> read_log_batch(std::string_view body) {
  LogBatchRequest batch;
  Cursor in(body);
  bool has_run_id = false, has_metrics = false, has_params = false, has_tags = false;
  bool read = read_object(in, [&](Cursor& c, std::string_view name) {
    if (name == "run_id") return once(&has_run_id) && c.read_string(&batch.run_id);
    if (name == "metrics") {
      return once(&has_metrics) && read_list(c, &batch.metrics, read_metric);
    }
    if (name == "params") {
      return once(&has_params) && read_list(c, &batch.params, read_key_value<Param>);
    }
    if (name == "tags") return once(&has_tags) && read_list(c, &batch.tags, read_key_value<RunTag>);
    return false;
  });
  if (!read || !in.at_end() || batch.run_id.empty()) return std::nullopt;
  return batch;
}

}  // namespace wattlab
