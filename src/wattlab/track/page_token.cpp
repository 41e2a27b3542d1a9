#include "wattlab/track/page_token.h"

#include <cctype>

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

}  // namespace

std::string encode_page_token(int64_t offset) { return base64("{\"offset\": " + std::to_string(offset) + "}"); }

Result<int64_t> decode_page_token(const std::string& token) {
  if (token.empty()) return int64_t{0};
  const Status bad = Status::invalid_argument("invalid page_token '" + token.substr(0, 64) +
                                              "' — pass back the next_page_token of an earlier response");
  if (token.size() > 256) return bad;
  std::string text;
  uint32_t buf = 0;
  int bits = 0;
  for (char c : token) {
    if (c == '=') break;
    int v = decode_char(c);
    if (v < 0) return bad;
    buf = (buf << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      text += static_cast<char>((buf >> bits) & 0xff);
    }
  }
  // Expect {"offset": N} with any spacing.
  size_t i = 0;
  auto skip = [&] { while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i; };
  auto expect = [&](const std::string& s) {
    skip();
    if (text.compare(i, s.size(), s) != 0) return false;
    i += s.size();
    return true;
  };
  if (!expect("{") || !expect("\"offset\"") || !expect(":")) return bad;
  skip();
  int64_t offset = 0;
  size_t digits = 0;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])) && digits < 15) {
    offset = offset * 10 + (text[i++] - '0');
    ++digits;
  }
  if (digits == 0 || !expect("}")) return bad;
  skip();
  if (i != text.size()) return bad;
  return offset;
}

}  // namespace wattlab
