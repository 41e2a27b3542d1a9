#include "wattlab/track/page_token.h"

#include <cctype>
#include <initializer_list>
#include <limits>

namespace wattlab {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int decode_char(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62;  // standard and URL-safe alphabets
  if (c == '/' || c == '_') return 63;
  return -1;
}

std::string base64(const std::string& in) {
  std::string out;
  uint32_t buf = 0;
  int bits = 0;
  for (unsigned char c : in) {
    buf = (buf << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buf >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buf << (6 - bits)) & 63];
  while (out.size() % 4) out += '=';
  return out;
}

// The text a token encodes; nullopt for characters outside base64's (standard
// or URL-safe) alphabet or a token too long to be ours.
std::optional<std::string> unbase64(const std::string& token) {
  if (token.size() > 256) return std::nullopt;
  std::string text;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : token) {
    if (c == '=') break;
    int v = decode_char(c);
    if (v < 0) return std::nullopt;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      text += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  return text;
}

// Reads {"name1": int, "name2": int, ...} with exactly the given names, in
// that order, and any spacing. Each integer must fit an int64; negative ones
// are read only where `allow_negative`.
bool parse_int_object(const std::string& text, std::initializer_list<const char*> names, bool allow_negative,
                      int64_t* out) {
  size_t i = 0;
  auto skip = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  auto expect = [&](const std::string& s) {
    skip();
    if (text.compare(i, s.size(), s) != 0) return false;
    i += s.size();
    return true;
  };
  if (!expect("{")) return false;
  bool first = true;
  for (const char* name : names) {
    if (!first && !expect(",")) return false;
    first = false;
    if (!expect(std::string("\"") + name + "\"") || !expect(":")) return false;
    skip();
    const bool negative = allow_negative && i < text.size() && text[i] == '-';
    if (negative) ++i;
    uint64_t value = 0;  // 19 digits fit
    size_t digits = 0;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 19) {
      value = value * 10 + static_cast<uint64_t>(text[i++] - '0');
      ++digits;
    }
    constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    if (digits == 0 || value > kMax + (negative ? 1 : 0)) return false;
    *out++ = negative ? static_cast<int64_t>(0 - value) : static_cast<int64_t>(value);
  }
  if (!expect("}")) return false;
  skip();
  return i == text.size();
}

Status bad_token(const std::string& token) {
  return Status::invalid_argument("invalid page_token '" + token.substr(0, 64) +
                                  "' — pass back the next_page_token of an earlier response");
}

}  // namespace

std::string encode_page_token(int64_t offset) { return base64("{\"offset\": " + std::to_string(offset) + "}"); }

Result<int64_t> decode_page_token(const std::string& token) {
  if (token.empty()) return int64_t{0};
  auto text = unbase64(token);
  int64_t offset = 0;
  // At most 15 digits, as before: offsets beyond any real result set are refused.
  if (!text || !parse_int_object(*text, {"offset"}, /*allow_negative=*/false, &offset) || offset >= 1'000'000'000'000'000) {
    return bad_token(token);
  }
  return offset;
}

std::string encode_metric_history_token(const MetricHistoryPosition& last) {
  return base64("{\"step\": " + std::to_string(last.step) + ", \"timestamp\": " + std::to_string(last.timestamp_ms) +
                ", \"seq\": " + std::to_string(last.seq) + "}");
}

Result<std::optional<MetricHistoryPosition>> decode_metric_history_token(const std::string& token) {
  if (token.empty()) return std::optional<MetricHistoryPosition>();
  auto text = unbase64(token);
  int64_t fields[3] = {0, 0, 0};
  if (!text || !parse_int_object(*text, {"step", "timestamp", "seq"}, /*allow_negative=*/true, fields) ||
      fields[2] < 0) {
    return bad_token(token);
  }
  return std::optional<MetricHistoryPosition>(MetricHistoryPosition{fields[0], fields[1], fields[2]});
}

}  // namespace wattlab
