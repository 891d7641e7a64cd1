// sless::json_text::parse, the SDK's JSON reader: it builds the same nlohmann::json as
// nlohmann::json::parse(text, nullptr, false) does, about three times faster (strings are copied
// in runs between escapes instead of a character at a time, and no token text is kept for error
// messages). Same grammar and results: RFC 8259, UTF-8 checked, a leading byte order mark skipped,
// non-negative integers unsigned and negative ones signed while they fit 64 bits (doubles
// otherwise), numbers that overflow a double refused, the last of duplicate keys kept, the text
// ending at a NUL byte after the value. The daemon reads request bodies, function answers and
// plugins' service calls with it, and the SDK's service clients read their results with it;
// handlers may read their events with it too. tests/fuzz/fuzz_json.cpp holds it to nlohmann's
// answers. Header-only, so that a plugin needs nothing but these headers and nlohmann_json.
#pragma once

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sless::json_text {
namespace detail {


using json = nlohmann::json;

class Parser {
 public:
  Parser(std::string_view text, int max_depth) : p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth) {}

  bool document(json* out) {
    if (p_ < end_ && static_cast<unsigned char>(*p_) == 0xEF) {  // a byte order mark, whole or refused
      if (end_ - p_ < 3 || static_cast<unsigned char>(p_[1]) != 0xBB || static_cast<unsigned char>(p_[2]) != 0xBF) {
        return false;
      }
      p_ += 3;
    }
    skip_space();
    if (!value(out, 0)) return false;
    skip_space();
    return p_ == end_ || *p_ == '\0';  // nlohmann ends the input at a NUL byte: what follows is ignored
  }

  bool too_deep = false;

 private:
  void skip_space() {
    while (p_ < end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  bool value(json* out, int depth) {
    if (p_ >= end_) return false;
    switch (*p_) {
      case '{':
        return object(out, depth);
      case '[':
        return array(out, depth);
      case '"': {
        std::string s;
        if (!string(&s)) return false;
        *out = std::move(s);
        return true;
      }
      case 't':
        *out = true;
        return literal("true");
      case 'f':
        *out = false;
        return literal("false");
      case 'n':
        *out = nullptr;
        return literal("null");
      default:
        return number(out);
    }
  }

  bool object(json* out, int depth) {
    if (depth >= max_depth_) {
      too_deep = true;
      return false;
    }
    ++p_;
    *out = json::object();
    skip_space();
    if (p_ < end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    std::string key;
    for (;;) {
      if (p_ >= end_ || *p_ != '"') return false;
      key.clear();
      if (!string(&key)) return false;
      skip_space();
      if (p_ >= end_ || *p_ != ':') return false;
      ++p_;
      skip_space();
      json& slot = (*out)[key];  // a repeated key: the last value wins, as in nlohmann's parser
      slot = json();
      if (!value(&slot, depth + 1)) return false;
      skip_space();
      if (p_ >= end_) return false;
      if (*p_ == '}') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_space();
    }
  }

  bool array(json* out, int depth) {
    if (depth >= max_depth_) {
      too_deep = true;
      return false;
    }
    ++p_;
    *out = json::array();
    skip_space();
    if (p_ < end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      out->push_back(json());
      if (!value(&out->back(), depth + 1)) return false;
      skip_space();
      if (p_ >= end_) return false;
      if (*p_ == ']') {
        ++p_;
        return true;
      }
      if (*p_ != ',') return false;
      ++p_;
      skip_space();
    }
  }

  static int hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  }

  // Four hex digits after "\u"; -1 when they are not.
  int code_unit() {
    if (end_ - p_ < 4) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      int h = hex(p_[i]);
      if (h < 0) return -1;
      v = v * 16 + h;
    }
    p_ += 4;
    return v;
  }

  static void append_utf8(std::string* s, uint32_t cp) {
    if (cp < 0x80) {
      s->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s->push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s->push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s->push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // The length of the well-formed UTF-8 sequence (RFC 3629) at p_, 0 when it is not one.
  size_t utf8_sequence() const {
    auto at = [this](ptrdiff_t i) { return static_cast<unsigned char>(p_[i]); };
    auto in = [](unsigned char c, unsigned char lo, unsigned char hi) { return c >= lo && c <= hi; };
    ptrdiff_t left = end_ - p_;
    unsigned char c = at(0);
    if (in(c, 0xC2, 0xDF)) return left >= 2 && in(at(1), 0x80, 0xBF) ? 2 : 0;
    if (in(c, 0xE0, 0xEF)) {
      if (left < 3) return 0;
      unsigned char lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) ? 3 : 0;
    }
    if (in(c, 0xF0, 0xF4)) {
      if (left < 4) return 0;
      unsigned char lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      return in(at(1), lo, hi) && in(at(2), 0x80, 0xBF) && in(at(3), 0x80, 0xBF) ? 4 : 0;
    }
    return 0;
  }

  bool string(std::string* s) {
    ++p_;  // the opening quote
    for (;;) {
      const char* run = p_;
      while (p_ < end_) {
        auto c = static_cast<unsigned char>(*p_);
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80) break;
        ++p_;
      }
      s->append(run, static_cast<size_t>(p_ - run));
      if (p_ >= end_) return false;
      auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c < 0x20) return false;
      if (c >= 0x80) {
        size_t n = utf8_sequence();
        if (n == 0) return false;
        s->append(p_, n);
        p_ += n;
        continue;
      }
      ++p_;  // the backslash
      if (p_ >= end_) return false;
      char e = *p_++;
      switch (e) {
        case '"': s->push_back('"'); break;
        case '\\': s->push_back('\\'); break;
        case '/': s->push_back('/'); break;
        case 'b': s->push_back('\b'); break;
        case 'f': s->push_back('\f'); break;
        case 'n': s->push_back('\n'); break;
        case 'r': s->push_back('\r'); break;
        case 't': s->push_back('\t'); break;
        case 'u': {
          int unit = code_unit();
          if (unit < 0) return false;
          uint32_t cp = static_cast<uint32_t>(unit);
          if (cp >= 0xDC00 && cp <= 0xDFFF) return false;  // a low surrogate alone
          if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
            p_ += 2;
            int low = code_unit();
            if (low < 0xDC00 || low > 0xDFFF) return false;
            cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<uint32_t>(low) - 0xDC00);
          }
          append_utf8(s, cp);
          break;
        }
        default:
          return false;
      }
    }
  }

  bool number(json* out) {
    const char* start = p_;
    bool negative = false;
    if (p_ < end_ && *p_ == '-') {
      negative = true;
      ++p_;
    }
    auto digit = [this] { return p_ < end_ && *p_ >= '0' && *p_ <= '9'; };
    if (!digit()) return false;
    if (*p_ == '0') {
      ++p_;
    } else {
      while (digit()) ++p_;
    }
    bool integral = true;
    if (p_ < end_ && *p_ == '.') {
      integral = false;
      ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
    }
    if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
      integral = false;
      ++p_;
      if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digit()) return false;
      while (digit()) ++p_;
    }
    if (integral) {
      // As nlohmann: signed when negative, unsigned otherwise, a double when it does not fit.
      if (negative) {
        int64_t v = 0;
        auto r = std::from_chars(start, p_, v);
        if (r.ec == std::errc() && r.ptr == p_) {
          *out = v;
          return true;
        }
      } else {
        uint64_t v = 0;
        auto r = std::from_chars(start, p_, v);
        if (r.ec == std::errc() && r.ptr == p_) {
          *out = v;
          return true;
        }
      }
    }
    // strtod needs a terminated copy; a double that overflows is refused, as nlohmann does.
    std::string text(start, p_);
    double d = std::strtod(text.c_str(), nullptr);
    if (!std::isfinite(d)) return false;
    *out = d;
    return true;
  }

  const char* p_;
  const char* end_;
  int max_depth_;
};

}  // namespace detail

// The value, or a discarded value when the text is not JSON or nests deeper than max_depth
// arrays and objects (then *too_deep is set, when given).
inline nlohmann::json parse(std::string_view text, int max_depth = 512, bool* too_deep = nullptr) {
  using nlohmann::json;
  detail::Parser parser(text, max_depth);
  json out;
  if (!parser.document(&out)) {
    if (too_deep && parser.too_deep) *too_deep = true;
    return json(json::value_t::discarded);
  }
  return out;
}

}  // namespace sless::json_text
