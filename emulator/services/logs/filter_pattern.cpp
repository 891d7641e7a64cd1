// Filter patterns: a hand-written parser per form, compiled into FilterPattern::Impl.
//
//   pattern ──trim──┬─ ""            → kEverything
//                   ├─ %...%         → Regex (bit-parallel NFA)               ─┐
//                   ├─ { ... }       → tokens → JSON tree of tests, && / ||    ├─ Impl ── matches(message)
//                   ├─ [ ... ]       → tokens → slots with conditions          │
//                   └─ anything else → terms (KMP needles)                    ─┘
//
// Matching JSON patterns parses the message with nlohmann (iteratively: no recursion on the
// message); space-delimited patterns split the message into fields once and walk them.
#include "services/logs/filter_pattern.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace sless::services::logs {

// A named namespace (not an anonymous one): FilterPattern::Impl holds these types, and the
// emulator is built in unity batches.
namespace pattern_detail {

using nlohmann::json;

constexpr char kInvalidPattern[] = "Invalid filter pattern";
// AWS's answers to a regex character outside the documented subset and to an unclosed JSON pattern.
constexpr char kInvalidCharacters[] = "Invalid character(s) in term";
constexpr char kUnclosedBrace[] = "If a filter pattern starts with '{' it must end with '}'";

constexpr int kMaxRepeat = 1000;          // {m,n} bounds
constexpr int kMaxWildcardsPerPattern = 3;  // JSON wildcard selectors ($.* and [*])

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_word_char(char c) { return is_alnum(c) || c == '_'; }
// Unquoted values (JSON and space-delimited conditions): words, numbers, wildcards, IP prefixes.
bool is_value_char(char c) { return is_word_char(c) || c == '.' || c == '*' || c == '+' || c == '-'; }
bool is_selector_char(char c) { return is_word_char(c) || c == '.' || c == '*' || c == '-'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// Numbers as patterns write them: a sign, digits with a fraction (or a fraction alone), an
// exponent with a sign. Also how a field or a JSON string counts as a number.
bool parse_number(std::string_view s, double* out) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
  size_t digits = 0;
  while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && is_digit(s[i])) ++i, ++digits;
  }
  if (digits == 0) return false;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) ++i;
    size_t exponent = 0;
    while (i < s.size() && is_digit(s[i])) ++i, ++exponent;
    if (exponent == 0) return false;
  }
  if (i != s.size()) return false;
  if (s.front() == '+') s.remove_prefix(1);  // from_chars takes '-' but not '+'
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// A fixed string found in time linear in the text (Knuth-Morris-Pratt; memchr skips to candidate
// starts), so that no message makes a term quadratic.
class Needle {
 public:
  explicit Needle(std::string text) : text_(std::move(text)), fail_(text_.size(), 0) {
    for (size_t i = 1, k = 0; i < text_.size(); ++i) {
      while (k > 0 && text_[i] != text_[k]) k = fail_[k - 1];
      if (text_[i] == text_[k]) ++k;
      fail_[i] = static_cast<uint32_t>(k);
    }
  }

  bool in(std::string_view hay) const {
    if (text_.empty()) return true;
    if (hay.size() < text_.size()) return false;
    const char* h = hay.data();
    size_t n = hay.size();
    size_t k = 0;
    for (size_t i = 0; i < n; ++i) {
      if (k == 0) {
        const void* p = std::memchr(h + i, text_[0], n - i);
        if (!p) return false;
        i = static_cast<size_t>(static_cast<const char*>(p) - h);
      }
      while (k > 0 && h[i] != text_[k]) k = fail_[k - 1];
      if (h[i] == text_[k] && ++k == text_.size()) return true;
    }
    return false;
  }

 private:
  std::string text_;
  std::vector<uint32_t> fail_;
};

// ---- regular expressions ------------------------------------------------------------------------

using ByteSet = std::bitset<256>;

// The documented subset: letters and digits, these symbols, these operators. A space is not in
// the list but the documentation's own examples use one ("^shutting down"), so it is taken.
bool is_regex_symbol(char c) { return std::string_view(":_#=@/;,- ").find(c) != std::string_view::npos; }
bool is_regex_operator(char c) { return std::string_view("^$?[]{}|\\*+.").find(c) != std::string_view::npos; }
bool is_regex_char(char c) { return is_alnum(c) || is_regex_symbol(c) || is_regex_operator(c); }

ByteSet byte_range(int lo, int hi) {
  ByteSet s;
  for (int b = lo; b <= hi; ++b) s.set(static_cast<size_t>(b));
  return s;
}
ByteSet digit_set() { return byte_range('0', '9'); }
ByteSet word_set() { return byte_range('0', '9') | byte_range('a', 'z') | byte_range('A', 'Z') | byte_range('_', '_'); }
ByteSet space_set() { return byte_range('\t', '\r') | byte_range(' ', ' '); }

int hex_value(char c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// One character set repeated min..max times (max < 0: unbounded). Without groups, that is all an
// alternative is made of.
struct RegexItem {
  ByteSet set;
  int min = 1;
  int max = 1;
};

struct RegexAlternative {
  bool head = false;  // ^: matches only at the start of the text
  bool tail = false;  // $: only at the end
  std::vector<RegexItem> items;
};

class RegexParser {
 public:
  explicit RegexParser(std::string_view s) : s_(s) {}

  // The alternatives into *out, or why the regex is refused.
  std::optional<std::string> parse(std::vector<RegexAlternative>* out) {
    if (s_.empty()) return kInvalidPattern;
    for (char c : s_) {
      if (!is_regex_char(c)) return kInvalidCharacters;
    }
    out->emplace_back();
    while (true) {
      RegexAlternative& alt = out->back();
      if (at_end() || peek() == '|') {
        if (alt.items.empty()) return kInvalidPattern;  // an empty alternative
        if (at_end()) return std::nullopt;
        ++i_;
        out->emplace_back();
        continue;
      }
      char c = peek();
      if (c == '^') {
        if (alt.head || !alt.items.empty()) return kInvalidPattern;  // anchors only open an alternative
        alt.head = true;
        ++i_;
        continue;
      }
      if (c == '$') {
        ++i_;
        if (!at_end() && peek() != '|') return kInvalidPattern;  // and only close one
        alt.tail = true;
        continue;
      }
      RegexItem item;
      if (c == '.') {
        item.set.set();
        item.set.reset('\n');
        ++i_;
      } else if (c == '[') {
        if (!char_class(&item.set)) return kInvalidPattern;
      } else if (c == '\\') {
        int single = -1;
        if (!escape(&item.set, &single)) return kInvalidPattern;
      } else if (std::string_view("?*+{}]").find(c) != std::string_view::npos) {
        return kInvalidPattern;  // nothing to repeat, or a bracket that closes nothing
      } else {
        item.set.set(static_cast<unsigned char>(c));
        ++i_;
      }
      if (!at_end() && std::string_view("?*+{").find(peek()) != std::string_view::npos) {
        char q = peek();
        if (q == '{') {
          if (!repeat_counts(&item.min, &item.max)) return kInvalidPattern;
        } else {
          item.min = q == '+' ? 1 : 0;
          item.max = q == '?' ? 1 : -1;
          ++i_;
        }
        if (!at_end() && std::string_view("?*+{").find(peek()) != std::string_view::npos) {
          return kInvalidPattern;  // a repeat of a repeat
        }
      }
      alt.items.push_back(item);
    }
  }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  char peek() const { return s_[i_]; }

  // \d \D \s \S \w \W, \xhh, or an escaped symbol or operator. *single: the byte when the escape
  // stands for one, else -1.
  bool escape(ByteSet* set, int* single) {
    ++i_;
    if (at_end()) return false;
    char e = s_[i_++];
    *single = -1;
    switch (e) {
      case 'd': *set = digit_set(); return true;
      case 'D': *set = ~digit_set(); return true;
      case 's': *set = space_set(); return true;
      case 'S': *set = ~space_set(); return true;
      case 'w': *set = word_set(); return true;
      case 'W': *set = ~word_set(); return true;
      case 'x': {
        if (i_ + 2 > s_.size()) return false;
        int hi = hex_value(s_[i_]);
        int lo = hex_value(s_[i_ + 1]);
        if (hi < 0 || lo < 0) return false;
        i_ += 2;
        *single = hi * 16 + lo;
        set->reset();
        set->set(static_cast<size_t>(*single));
        return true;
      }
      default:
        if (is_alnum(e)) return false;  // \b, \1, \n...: not in the subset
        *single = static_cast<unsigned char>(e);
        set->reset();
        set->set(static_cast<size_t>(*single));
        return true;
    }
  }

  // [...] and [^...]: characters, ranges a-z, escapes; '-' first or last is itself.
  bool char_class(ByteSet* set) {
    ++i_;
    bool negate = !at_end() && peek() == '^';
    if (negate) ++i_;
    bool any = false;
    set->reset();
    while (true) {
      if (at_end()) return false;
      char c = peek();
      if (c == ']') {
        if (!any) return false;
        ++i_;
        break;
      }
      ByteSet part;
      int lo = -1;
      if (c == '\\') {
        if (!escape(&part, &lo)) return false;
      } else {
        lo = static_cast<unsigned char>(c);
        part.set(static_cast<size_t>(lo));
        ++i_;
      }
      if (lo >= 0 && !at_end() && peek() == '-' && i_ + 1 < s_.size() && s_[i_ + 1] != ']') {
        ++i_;
        int hi = -1;
        if (peek() == '\\') {
          ByteSet ignored;
          if (!escape(&ignored, &hi) || hi < 0) return false;
        } else {
          hi = static_cast<unsigned char>(peek());
          ++i_;
        }
        if (hi < lo) return false;
        part |= byte_range(lo, hi);
      }
      *set |= part;
      any = true;
    }
    if (negate) set->flip();
    return true;
  }

  // {m}, {m,}, {,n}, {m,n}; spaces around the numbers are taken (the documentation writes {m, n}).
  bool repeat_counts(int* min, int* max) {
    ++i_;
    bool too_big = false;
    auto spaces = [&] {
      while (!at_end() && peek() == ' ') ++i_;
    };
    auto number = [&](int* out) {
      size_t start = i_;
      int v = 0;
      while (!at_end() && is_digit(peek())) {
        v = std::min(v * 10 + (peek() - '0'), kMaxRepeat + 1);
        ++i_;
      }
      too_big |= v > kMaxRepeat;
      *out = v;
      return i_ > start;
    };
    spaces();
    int lo = 0, hi = 0;
    bool has_lo = number(&lo);
    spaces();
    bool comma = !at_end() && peek() == ',';
    bool has_hi = false;
    if (comma) {
      ++i_;
      spaces();
      has_hi = number(&hi);
      spaces();
    }
    if (at_end() || peek() != '}') return false;
    ++i_;
    if ((!has_lo && !has_hi) || too_big) return false;
    if (!comma) {
      hi = lo;
    } else if (!has_hi) {
      hi = -1;
    }
    if (hi >= 0 && hi < lo) return false;
    *min = lo;
    *max = hi;
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// A compiled regex: a bit-parallel NFA ("shift-and" extended with optional and repeated
// positions). Each alternative is a chain of positions, laid out one after another in a bit
// vector with an accept bit after each chain: bit p set means "ready to match position p".
// Reading a byte shifts the ready positions whose set holds it one place on (and keeps those that
// repeat); optional positions pass readiness on through one addition with carries (see close()).
// Per byte that is a few word operations per 64 positions, whatever the text: nothing backtracks.
class Regex {
 public:
  static std::variant<Regex, std::string> compile(std::string_view source) {
    std::vector<RegexAlternative> alts;
    if (auto error = RegexParser(source).parse(&alts)) return std::move(*error);

    struct Position {
      const ByteSet* set;
      bool optional;
      bool repeats;
    };
    std::vector<std::vector<Position>> chains;
    size_t total = 0;
    for (const RegexAlternative& alt : alts) {
      std::vector<Position>& chain = chains.emplace_back();
      for (const RegexItem& item : alt.items) {
        total += static_cast<size_t>(item.max < 0 ? std::max(item.min, 1) : item.max);
        if (total > FilterPattern::kMaxRegexSize) return std::string(kInvalidPattern);
        if (item.max < 0) {
          for (int k = 0; k + 1 < item.min; ++k) chain.push_back({&item.set, false, false});
          chain.push_back({&item.set, item.min == 0, true});
        } else {
          for (int k = 0; k < item.min; ++k) chain.push_back({&item.set, false, false});
          for (int k = item.min; k < item.max; ++k) chain.push_back({&item.set, true, false});
        }
      }
    }

    Regex r;
    size_t bits = 0;
    for (const auto& chain : chains) bits += chain.size() + 1;
    r.words_ = (bits + 63) / 64;
    for (auto* v : {&r.repeat_, &r.fill_, &r.start_any_, &r.start_head_, &r.accept_any_, &r.accept_end_}) {
      v->assign(r.words_, 0);
    }
    auto set_bit = [](std::vector<uint64_t>& v, size_t bit) { v[bit / 64] |= uint64_t{1} << (bit % 64); };
    std::vector<uint64_t> byte_masks(256 * r.words_, 0);
    size_t start = 0;
    for (size_t a = 0; a < alts.size(); ++a) {
      const auto& chain = chains[a];
      for (size_t k = 0; k < chain.size(); ++k) {
        size_t bit = start + k;
        for (size_t b = 0; b < 256; ++b) {
          if (chain[k].set->test(b)) byte_masks[b * r.words_ + bit / 64] |= uint64_t{1} << (bit % 64);
        }
        if (chain[k].repeats) set_bit(r.repeat_, bit);
        if (chain[k].optional) set_bit(r.fill_, bit + 1);
      }
      size_t accept = start + chain.size();
      set_bit(alts[a].head ? r.start_head_ : r.start_any_, start);
      set_bit(alts[a].tail ? r.accept_end_ : r.accept_any_, accept);
      start = accept + 1;
    }
    // Bytes that every position treats alike share one mask.
    std::map<std::vector<uint64_t>, uint16_t> classes;
    for (size_t b = 0; b < 256; ++b) {
      std::vector<uint64_t> mask(byte_masks.begin() + static_cast<std::ptrdiff_t>(b * r.words_),
                                 byte_masks.begin() + static_cast<std::ptrdiff_t>((b + 1) * r.words_));
      auto [it, added] = classes.emplace(std::move(mask), static_cast<uint16_t>(classes.size()));
      if (added) r.masks_.insert(r.masks_.end(), it->first.begin(), it->first.end());
      r.class_of_[b] = it->second;
    }
    return r;
  }

  // Whether the regex matches somewhere in the text.
  bool search(std::string_view text) const {
    std::vector<uint64_t> d(words_, 0);
    for (size_t i = 0;; ++i) {
      bool any = false;
      for (size_t w = 0; w < words_; ++w) {
        d[w] |= start_any_[w] | (i == 0 ? start_head_[w] : 0);
        any |= d[w] != 0;
      }
      if (!any) return false;  // only anchored alternatives, and they all died
      close(d);
      if (intersects(d, accept_any_)) return true;
      if (i == text.size()) return intersects(d, accept_end_);
      const uint64_t* mask = &masks_[class_of_[static_cast<unsigned char>(text[i])] * words_];
      uint64_t carry = 0;
      for (size_t w = 0; w < words_; ++w) {
        uint64_t ready = d[w] & mask[w];
        d[w] = (ready << 1) | carry | (ready & repeat_[w]);
        carry = ready >> 63;
      }
    }
  }

 private:
  Regex() = default;

  // Passes readiness on through optional positions: a ready position p whose successors p+1..q
  // are all skippable makes them all ready. Within a run of Y = D | fill, adding D carries from
  // the lowest ready bit to the run's end, so Y & ((Y + D) ^ Y) is that span (bits of D inside the
  // span may come out clear; OR-ing D back restores them). The carry runs across words.
  void close(std::vector<uint64_t>& d) const {
    uint64_t carry = 0;
    for (size_t w = 0; w < words_; ++w) {
      uint64_t y = d[w] | fill_[w];
      uint64_t sum = y + d[w];
      uint64_t c1 = sum < y ? 1 : 0;
      uint64_t total = sum + carry;
      uint64_t c2 = total < sum ? 1 : 0;
      carry = c1 | c2;
      d[w] |= y & (total ^ y);
    }
  }

  bool intersects(const std::vector<uint64_t>& d, const std::vector<uint64_t>& m) const {
    for (size_t w = 0; w < words_; ++w) {
      if (d[w] & m[w]) return true;
    }
    return false;
  }

  size_t words_ = 0;
  std::array<uint16_t, 256> class_of_{};
  std::vector<uint64_t> masks_;  // words_ per byte class
  std::vector<uint64_t> repeat_, fill_, start_any_, start_head_, accept_any_, accept_end_;
};

// ---- conditions (JSON and space-delimited) ------------------------------------------------------

enum class Op { kEq, kNe, kLt, kGt, kLe, kGe };

// The right-hand side of a condition.
struct Operand {
  enum class Type { kText, kNumber, kRegex } type = Type::kText;
  // kText: the literal without its leading and trailing '*' wildcards (a '*' inside is itself).
  std::string text;
  bool any_before = false;
  bool any_after = false;
  std::optional<Needle> needle;  // both wildcards: text found anywhere
  double number = 0;
  size_t regex = 0;  // index into Impl::regexes
};

struct Condition {
  Op op = Op::kEq;
  Operand rhs;
};

void set_text(Operand* o, std::string text) {
  o->type = Operand::Type::kText;
  std::string_view t = text;
  o->any_before = !t.empty() && t.front() == '*';
  if (o->any_before) t.remove_prefix(1);
  o->any_after = !t.empty() && t.back() == '*';
  if (o->any_after) t.remove_suffix(1);
  o->text = std::string(t);
  if (o->any_before && o->any_after) o->needle.emplace(o->text);
}

bool compare(Op op, double a, double b) {
  switch (op) {
    case Op::kEq: return a == b;
    case Op::kNe: return a != b;
    case Op::kLt: return a < b;
    case Op::kGt: return a > b;
    case Op::kLe: return a <= b;
    case Op::kGe: return a >= b;
  }
  return false;
}

// A condition on a value: its text (a field, a JSON string, a JSON number as JSON writes it) and,
// for a JSON number, the number.
bool holds(const Condition& c, std::string_view text, const double* number, const std::vector<Regex>& regexes) {
  const Operand& o = c.rhs;
  switch (o.type) {
    case Operand::Type::kRegex: {
      bool found = regexes[o.regex].search(text);
      return c.op == Op::kEq ? found : !found;
    }
    case Operand::Type::kText: {
      bool same;
      if (o.any_before && o.any_after) {
        same = o.needle->in(text);
      } else if (o.any_before) {
        same = text.size() >= o.text.size() && text.substr(text.size() - o.text.size()) == o.text;
      } else if (o.any_after) {
        same = text.substr(0, o.text.size()) == o.text;
      } else {
        same = text == o.text;
      }
      return c.op == Op::kEq ? same : !same;
    }
    case Operand::Type::kNumber: {
      double v = 0;
      if (number) {
        v = *number;
      } else if (!parse_number(text, &v)) {
        return c.op == Op::kNe;  // not a number: unequal to any, neither less nor more
      }
      return compare(c.op, v, o.number);
    }
  }
  return false;
}

// ---- JSON patterns ------------------------------------------------------------------------------

struct Step {
  enum class Type { kKey, kIndex, kAnyKey, kAnyIndex } type = Type::kKey;
  std::string key;
  size_t index = 0;
};

struct JsonTest {
  enum class Check { kCompare, kTrue, kFalse, kNull, kMissing } check = Check::kCompare;
  std::vector<Step> selector;
  Condition condition;
};

struct JsonNode {
  enum class Type { kTest, kAnd, kOr } type = Type::kTest;
  size_t test = 0;
  std::vector<size_t> children;
};

// $.a.b, $.a[0], $.a[*], $.*, $.['key.with.dots'] (and $.a['b']); names are letters, digits, '_'
// and '-'. *wildcards: how many [*] and .* it has.
bool parse_selector(std::string_view s, std::vector<Step>* out, int* wildcards) {
  if (s.size() < 3 || s[0] != '$' || s[1] != '.') return false;
  size_t i = 1;
  size_t n = s.size();
  *wildcards = 0;
  auto quoted_key = [&](Step* step) {  // at the quote after '['
    size_t close = s.find('\'', i + 1);
    if (close == std::string_view::npos || close + 1 >= n || s[close + 1] != ']') return false;
    step->type = Step::Type::kKey;
    step->key = std::string(s.substr(i + 1, close - i - 1));
    i = close + 2;
    return true;
  };
  while (i < n) {
    Step step;
    if (s[i] == '.') {
      ++i;
      if (i >= n) return false;
      if (s[i] == '*') {
        step.type = Step::Type::kAnyKey;
        ++*wildcards;
        ++i;
      } else if (s[i] == '[') {
        ++i;
        if (i >= n || s[i] != '\'' || !quoted_key(&step)) return false;
      } else {
        size_t j = i;
        while (j < n && (is_word_char(s[j]) || s[j] == '-')) ++j;
        if (j == i) return false;
        step.key = std::string(s.substr(i, j - i));
        i = j;
      }
    } else if (s[i] == '[') {
      ++i;
      if (i >= n) return false;
      if (s[i] == '*') {
        if (i + 1 >= n || s[i + 1] != ']') return false;
        step.type = Step::Type::kAnyIndex;
        ++*wildcards;
        i += 2;
      } else if (s[i] == '\'') {
        if (!quoted_key(&step)) return false;
      } else {
        size_t j = i;
        while (j < n && is_digit(s[j])) ++j;
        if (j == i || j - i > 9 || j >= n || s[j] != ']') return false;
        step.type = Step::Type::kIndex;
        std::from_chars(s.data() + i, s.data() + j, step.index);
        i = j + 1;
      }
    } else {
      return false;
    }
    out->push_back(std::move(step));
  }
  return *wildcards <= 1;  // one wildcard per selector
}

// ---- space-delimited patterns -------------------------------------------------------------------

struct Clause {
  std::vector<Condition> all;
};

struct Slot {
  bool ellipsis = false;
  std::vector<Clause> any;  // none: the field may be anything
};

struct Field {
  std::string_view value;  // without the quotes or brackets that make it one field
  size_t start;            // where it starts in the message
};

// A message's fields: runs of non-space characters, or "..." and [...] spans (quotes and
// brackets taken off). An opening quote or bracket that is never closed is an ordinary character.
void split_fields(std::string_view m, std::vector<Field>* out) {
  bool quotes_closable = true;
  bool brackets_closable = true;
  size_t i = 0;
  size_t n = m.size();
  while (true) {
    while (i < n && is_space(m[i])) ++i;
    if (i >= n) return;
    size_t start = i;
    char open = m[i];
    if ((open == '"' && quotes_closable) || (open == '[' && brackets_closable)) {
      size_t close = m.find(open == '"' ? '"' : ']', i + 1);
      if (close != std::string_view::npos) {
        out->push_back({m.substr(i + 1, close - i - 1), start});
        i = close + 1;
        continue;
      }
      // None further on: later ones need not look again (that keeps this linear).
      (open == '"' ? quotes_closable : brackets_closable) = false;
    }
    while (i < n && !is_space(m[i])) ++i;
    out->push_back({m.substr(start, i - start), start});
  }
}

// ---- tokens of JSON and space-delimited patterns ------------------------------------------------

enum class Tok { kEnd, kLParen, kRParen, kAnd, kOr, kComma, kOp, kSelector, kString, kRegex, kWord };

struct Token {
  Tok type = Tok::kEnd;
  std::string_view text;  // kSelector, kRegex (without the %), kWord
  std::string value;      // kString, unescaped
  Op op = Op::kEq;
};

std::optional<std::string> lex(std::string_view s, std::vector<Token>* out) {
  size_t i = 0;
  size_t n = s.size();
  while (true) {
    while (i < n && is_space(s[i])) ++i;
    if (i >= n) break;
    Token t;
    char c = s[i];
    char d = i + 1 < n ? s[i + 1] : '\0';
    if (c == '(' || c == ')' || c == ',') {
      t.type = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
      ++i;
    } else if ((c == '&' && d == '&') || (c == '|' && d == '|')) {
      t.type = c == '&' ? Tok::kAnd : Tok::kOr;
      i += 2;
    } else if (c == '!' && d == '=') {
      t.type = Tok::kOp;
      t.op = Op::kNe;
      i += 2;
    } else if (c == '<' || c == '>') {
      t.type = Tok::kOp;
      bool eq = d == '=';
      t.op = c == '<' ? (eq ? Op::kLe : Op::kLt) : (eq ? Op::kGe : Op::kGt);
      i += eq ? 2 : 1;
    } else if (c == '=') {
      t.type = Tok::kOp;
      t.op = Op::kEq;
      ++i;
    } else if (c == '"') {
      t.type = Tok::kString;
      size_t j = i + 1;
      while (j < n && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\')) ++j;
        t.value.push_back(s[j++]);
      }
      if (j >= n) return std::string(kInvalidPattern);  // unclosed quote
      i = j + 1;
    } else if (c == '%') {
      size_t close = s.find('%', i + 1);
      if (close == std::string_view::npos) return std::string(kInvalidPattern);
      t.type = Tok::kRegex;
      t.text = s.substr(i + 1, close - i - 1);
      i = close + 1;
    } else if (c == '$') {
      size_t j = i + 1;
      while (j < n) {
        if (s[j] == '[') {
          size_t close = j + 1 < n && s[j + 1] == '\'' ? s.find('\'', j + 2) : j;
          if (close == std::string_view::npos) return std::string(kInvalidPattern);
          close = s.find(']', close + 1);
          if (close == std::string_view::npos) return std::string(kInvalidPattern);
          j = close + 1;
        } else if (is_selector_char(s[j])) {
          ++j;
        } else {
          break;
        }
      }
      t.type = Tok::kSelector;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (is_value_char(c)) {
      size_t j = i;
      while (j < n && is_value_char(s[j])) ++j;
      t.type = Tok::kWord;
      t.text = s.substr(i, j - i);
      i = j;
    } else {
      return std::string(kInvalidPattern);
    }
    out->push_back(std::move(t));
  }
  out->emplace_back();  // kEnd
  return std::nullopt;
}

}  // namespace pattern_detail

struct FilterPattern::Impl {
  Kind kind = Kind::kEverything;
  // kTerms
  std::vector<pattern_detail::Needle> include, exclude, optional;
  // kRegex (the one), and those of JSON and space-delimited conditions
  std::vector<pattern_detail::Regex> regexes;
  // kJson: a tree of && / || over tests
  std::vector<pattern_detail::JsonNode> nodes;
  std::vector<pattern_detail::JsonTest> tests;
  size_t root = 0;
  // kDelimited
  std::vector<pattern_detail::Slot> slots;
  bool has_ellipsis = false;
};

namespace pattern_detail {

using Impl = FilterPattern::Impl;

// ---- parsing ------------------------------------------------------------------------------------

std::optional<std::string> parse_terms(std::string_view s, Impl* impl) {
  size_t i = 0;
  size_t n = s.size();
  while (true) {
    while (i < n && is_space(s[i])) ++i;
    if (i >= n) break;
    char prefix = 0;
    if (s[i] == '?' || s[i] == '-') {
      prefix = s[i++];
      while (i < n && is_space(s[i])) ++i;  // the guide writes "ERROR" - "Exiting"
      if (i >= n) return std::string(kInvalidPattern);
    }
    std::string term;
    if (s[i] == '"') {
      size_t j = i + 1;
      while (j < n && s[j] != '"') {
        if (s[j] == '\\' && j + 1 < n && (s[j + 1] == '"' || s[j + 1] == '\\')) ++j;
        term.push_back(s[j++]);
      }
      if (j >= n) return std::string(kInvalidPattern);
      i = j + 1;
    } else {
      // Unquoted terms are letters, digits and '_'; anything else must be quoted.
      size_t j = i;
      while (j < n && is_word_char(s[j])) ++j;
      if (j == i) return std::string(kInvalidPattern);
      term = std::string(s.substr(i, j - i));
      i = j;
    }
    if (i < n && !is_space(s[i])) return std::string(kInvalidPattern);
    if (trim(term).empty()) continue;  // "" and " " match every event
    auto& list = prefix == '?' ? impl->optional : prefix == '-' ? impl->exclude : impl->include;
    list.emplace_back(std::move(term));
  }
  impl->kind = FilterPattern::Kind::kTerms;
  return std::nullopt;
}

// Recursive descent over the tokens of a JSON or space-delimited pattern. Parentheses nest at most
// kMaxNesting deep, so the recursion is bounded.
class ExprParser {
 public:
  ExprParser(const std::vector<Token>& tokens, Impl* impl) : tokens_(tokens), impl_(impl) {}

  std::optional<std::string> json_pattern() {
    size_t root = 0;
    if (!or_expr(0, &root) || peek().type != Tok::kEnd) return error_;
    impl_->root = root;
    impl_->kind = FilterPattern::Kind::kJson;
    return std::nullopt;
  }

  // slot (',' slot)* [','], where a slot is "...", a name, or a name with conditions on it:
  // name op value (('&&' | '||') name op value)*, && binding tighter. A trailing comma adds one
  // unnamed field (the guide's example [..., request=*.html*, status_code=4*,]).
  std::optional<std::string> delimited_pattern() {
    if (peek().type == Tok::kEnd) return error_;
    while (true) {
      Slot slot;
      const Token& t = next();
      if (t.type != Tok::kWord) return error_;
      if (t.text == "...") {
        slot.ellipsis = true;
        impl_->has_ellipsis = true;
      } else {
        if (!std::all_of(t.text.begin(), t.text.end(), is_word_char)) return error_;
        if (peek().type == Tok::kOp && !conditions(t.text, &slot)) return error_;
      }
      impl_->slots.push_back(std::move(slot));
      const Token& sep = next();
      if (sep.type == Tok::kEnd) break;
      if (sep.type != Tok::kComma) return error_;
      if (peek().type == Tok::kEnd) {
        impl_->slots.emplace_back();
        break;
      }
    }
    impl_->kind = FilterPattern::Kind::kDelimited;
    return std::nullopt;
  }

 private:
  const Token& peek() const { return tokens_[pos_]; }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (t.type != Tok::kEnd) ++pos_;
    return t;
  }

  bool or_expr(int depth, size_t* node) { return chain(depth, node, Tok::kOr); }
  bool and_expr(int depth, size_t* node) { return chain(depth, node, Tok::kAnd); }

  // Operands joined by `op` (|| over && expressions, && over unary ones), flattened into one node.
  bool chain(int depth, size_t* node, Tok op) {
    std::vector<size_t> children;
    while (true) {
      size_t child = 0;
      if (!(op == Tok::kOr ? and_expr(depth, &child) : unary(depth, &child))) return false;
      children.push_back(child);
      if (peek().type != op) break;
      next();
    }
    if (children.size() == 1) {
      *node = children.front();
      return true;
    }
    JsonNode n;
    n.type = op == Tok::kOr ? JsonNode::Type::kOr : JsonNode::Type::kAnd;
    n.children = std::move(children);
    *node = impl_->nodes.size();
    impl_->nodes.push_back(std::move(n));
    return true;
  }

  bool unary(int depth, size_t* node) {
    if (peek().type != Tok::kLParen) return test(node);
    if (depth >= FilterPattern::kMaxNesting) return false;
    next();
    return or_expr(depth + 1, node) && next().type == Tok::kRParen;
  }

  // selector op value | selector IS TRUE|FALSE|NULL | selector NOT EXISTS
  bool test(size_t* node) {
    const Token& s = next();
    if (s.type != Tok::kSelector) return false;
    JsonTest test;
    int wildcards = 0;
    if (!parse_selector(s.text, &test.selector, &wildcards)) return false;
    wildcards_ += wildcards;
    if (wildcards_ > kMaxWildcardsPerPattern) return false;
    const Token& t = next();
    if (t.type == Tok::kOp) {
      test.condition.op = t.op;
      if (!operand(t.op, &test.condition.rhs)) return false;
    } else if (t.type == Tok::kWord && t.text == "IS") {
      std::string_view what = next().text;  // "IS NOT" is not supported, as on AWS
      if (what == "TRUE") {
        test.check = JsonTest::Check::kTrue;
      } else if (what == "FALSE") {
        test.check = JsonTest::Check::kFalse;
      } else if (what == "NULL") {
        test.check = JsonTest::Check::kNull;
      } else {
        return false;
      }
    } else if (t.type == Tok::kWord && t.text == "NOT") {
      if (next().text != "EXISTS") return false;
      test.check = JsonTest::Check::kMissing;
    } else {
      return false;
    }
    JsonNode n;
    n.test = impl_->tests.size();
    impl_->tests.push_back(std::move(test));
    *node = impl_->nodes.size();
    impl_->nodes.push_back(std::move(n));
    return true;
  }

  // name op value (('&&' | '||') name op value)* for the slot `name`: every condition is on it.
  bool conditions(std::string_view name, Slot* slot) {
    Clause clause;
    while (true) {
      const Token& op = next();
      if (op.type != Tok::kOp) return false;
      Condition c;
      c.op = op.op;
      if (!operand(op.op, &c.rhs)) return false;
      clause.all.push_back(std::move(c));
      Tok joint = peek().type;
      if (joint != Tok::kAnd && joint != Tok::kOr) break;
      next();
      if (joint == Tok::kOr) {
        slot->any.push_back(std::move(clause));
        clause = Clause();
      }
      const Token& field = next();
      if (field.type != Tok::kWord || field.text != name) return false;
    }
    slot->any.push_back(std::move(clause));
    return true;
  }

  // "text", %regex%, a number, or an unquoted word with wildcards. < > <= >= take numbers only.
  bool operand(Op op, Operand* out) {
    const Token& v = next();
    if (v.type == Tok::kString) {
      set_text(out, v.value);
    } else if (v.type == Tok::kRegex) {
      if (++regexes_ > FilterPattern::kMaxRegexes) return false;
      auto compiled = Regex::compile(v.text);
      if (auto* why = std::get_if<std::string>(&compiled)) {
        error_ = *why;
        return false;
      }
      out->type = Operand::Type::kRegex;
      out->regex = impl_->regexes.size();
      impl_->regexes.push_back(std::move(std::get<Regex>(compiled)));
    } else if (v.type == Tok::kWord && v.text != "...") {
      if (parse_number(v.text, &out->number)) {
        out->type = Operand::Type::kNumber;
      } else {
        set_text(out, std::string(v.text));
      }
    } else {
      return false;
    }
    bool equality = op == Op::kEq || op == Op::kNe;
    return equality || out->type == Operand::Type::kNumber;
  }

  const std::vector<Token>& tokens_;
  Impl* impl_;
  size_t pos_ = 0;
  int regexes_ = 0;
  int wildcards_ = 0;
  std::string error_ = kInvalidPattern;
};

// ---- matching -----------------------------------------------------------------------------------

bool match_terms(const Impl& p, std::string_view m) {
  for (const Needle& t : p.include) {
    if (!t.in(m)) return false;
  }
  for (const Needle& t : p.exclude) {
    if (t.in(m)) return false;
  }
  // ?terms count only in a pattern of ?terms alone; mixed with others they are ignored.
  if (p.include.empty() && p.exclude.empty() && !p.optional.empty()) {
    return std::any_of(p.optional.begin(), p.optional.end(), [&](const Needle& t) { return t.in(m); });
  }
  return true;
}

// The nodes a selector points at (several through a wildcard).
void select(const json& doc, const std::vector<Step>& steps, std::vector<const json*>* out) {
  std::vector<const json*> next;
  out->assign(1, &doc);
  for (const Step& step : steps) {
    next.clear();
    for (const json* n : *out) {
      switch (step.type) {
        case Step::Type::kKey:
          if (n->is_object()) {
            auto it = n->find(step.key);
            if (it != n->end()) next.push_back(&*it);
          }
          break;
        case Step::Type::kIndex:
          if (n->is_array() && step.index < n->size()) next.push_back(&(*n)[step.index]);
          break;
        case Step::Type::kAnyKey:
          if (n->is_object()) {
            for (const auto& v : *n) next.push_back(&v);
          }
          break;
        case Step::Type::kAnyIndex:
          if (n->is_array()) {
            for (const auto& v : *n) next.push_back(&v);
          }
          break;
      }
    }
    out->swap(next);
    if (out->empty()) return;
  }
}

// A test holds when one of the nodes its selector points at passes it (or, for NOT EXISTS, when
// it points at none). Comparisons look at value nodes only, strings and numbers: a selector that
// points at an object, an array, a boolean or null fails both = and !=.
bool run_test(const Impl& p, const JsonTest& t, const json& doc) {
  std::vector<const json*> nodes;
  select(doc, t.selector, &nodes);
  if (t.check == JsonTest::Check::kMissing) return nodes.empty();
  for (const json* n : nodes) {
    switch (t.check) {
      case JsonTest::Check::kTrue:
        if (n->is_boolean() && n->get<bool>()) return true;
        break;
      case JsonTest::Check::kFalse:
        if (n->is_boolean() && !n->get<bool>()) return true;
        break;
      case JsonTest::Check::kNull:
        if (n->is_null()) return true;
        break;
      case JsonTest::Check::kCompare:
        if (n->is_string()) {
          if (holds(t.condition, n->get_ref<const std::string&>(), nullptr, p.regexes)) return true;
        } else if (n->is_number()) {
          double v = n->get<double>();
          if (holds(t.condition, n->dump(), &v, p.regexes)) return true;
        }
        break;
      case JsonTest::Check::kMissing:
        break;
    }
  }
  return false;
}

bool eval(const Impl& p, size_t node, const json& doc) {
  const JsonNode& n = p.nodes[node];
  switch (n.type) {
    case JsonNode::Type::kTest:
      return run_test(p, p.tests[n.test], doc);
    case JsonNode::Type::kAnd:
      return std::all_of(n.children.begin(), n.children.end(), [&](size_t c) { return eval(p, c, doc); });
    case JsonNode::Type::kOr:
      return std::any_of(n.children.begin(), n.children.end(), [&](size_t c) { return eval(p, c, doc); });
  }
  return false;
}

bool match_json(const Impl& p, std::string_view m) {
  std::string_view body = trim(m);
  if (body.empty() || body.front() != '{') return false;  // only JSON objects are looked into
  json doc = json::parse(body.begin(), body.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return false;
  return eval(p, p.root, doc);
}

bool slot_holds(const Impl& p, const Slot& slot, std::string_view value) {
  if (slot.any.empty()) return true;
  return std::any_of(slot.any.begin(), slot.any.end(), [&](const Clause& clause) {
    return std::all_of(clause.all.begin(), clause.all.end(),
                       [&](const Condition& c) { return holds(c, value, nullptr, p.regexes); });
  });
}

// Without "...", the message needs a field per slot, and the last slot takes whatever follows
// (the guide's [w1=ERROR, w2] matches any line whose first word is ERROR). With "...", each
// ellipsis stands for any number of fields: the slots before the first one match the first
// fields, those after the last one the last fields, and each group between two ellipses the
// earliest fields it can (which is enough: an ellipsis can absorb anything skipped).
bool match_delimited(const Impl& p, std::string_view m) {
  std::vector<Field> fields;
  split_fields(m, &fields);
  const std::vector<Slot>& slots = p.slots;
  size_t nf = fields.size();
  size_t ns = slots.size();
  if (!p.has_ellipsis) {
    if (nf < ns) return false;
    for (size_t k = 0; k + 1 < ns; ++k) {
      if (!slot_holds(p, slots[k], fields[k].value)) return false;
    }
    std::string_view last = nf == ns ? fields[ns - 1].value : trim(m.substr(fields[ns - 1].start));
    return slot_holds(p, slots[ns - 1], last);
  }
  std::vector<std::pair<size_t, size_t>> groups;  // [begin, end) of slots between ellipses
  size_t begin = 0;
  for (size_t k = 0; k < ns; ++k) {
    if (slots[k].ellipsis) {
      groups.emplace_back(begin, k);
      begin = k + 1;
    }
  }
  groups.emplace_back(begin, ns);
  size_t needed = 0;
  for (const auto& [b, e] : groups) needed += e - b;
  if (nf < needed) return false;
  auto group_at = [&](const std::pair<size_t, size_t>& g, size_t at) {
    for (size_t k = g.first; k < g.second; ++k) {
      if (!slot_holds(p, slots[k], fields[at + k - g.first].value)) return false;
    }
    return true;
  };
  const auto& first = groups.front();
  const auto& last = groups.back();
  size_t last_size = last.second - last.first;
  if (!group_at(first, 0) || !group_at(last, nf - last_size)) return false;
  size_t at = first.second - first.first;
  size_t end = nf - last_size;
  for (size_t g = 1; g + 1 < groups.size(); ++g) {
    size_t size = groups[g].second - groups[g].first;
    while (at + size <= end && !group_at(groups[g], at)) ++at;
    if (at + size > end) return false;
    at += size;
  }
  return true;
}

size_t characters(std::string_view s) {
  return static_cast<size_t>(std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

}  // namespace pattern_detail

FilterPattern::Kind FilterPattern::kind() const { return impl_->kind; }

bool FilterPattern::matches(std::string_view message) const {
  using namespace pattern_detail;
  const Impl& p = *impl_;
  switch (p.kind) {
    case Kind::kEverything: return true;
    case Kind::kTerms: return match_terms(p, message);
    case Kind::kRegex: return p.regexes.front().search(message);
    case Kind::kJson: return match_json(p, message);
    case Kind::kDelimited: return match_delimited(p, message);
  }
  return false;
}

std::variant<FilterPattern, std::string> compile_filter_pattern(std::string_view pattern) {
  using namespace pattern_detail;
  if (characters(pattern) > FilterPattern::kMaxLength) {
    return "1 validation error detected: Value '" + std::string(pattern) +
           "' at 'filterPattern' failed to satisfy constraint: Member must have length less than or equal to " +
           std::to_string(FilterPattern::kMaxLength);
  }
  auto impl = std::make_shared<Impl>();
  std::string_view s = trim(pattern);
  std::optional<std::string> error;
  if (s.empty()) {
    impl->kind = FilterPattern::Kind::kEverything;
  } else if (s.front() == '{' || s.front() == '[') {
    bool json_form = s.front() == '{';
    if (s.size() < 2 || s.back() != (json_form ? '}' : ']')) {
      return std::string(json_form ? kUnclosedBrace : kInvalidPattern);
    }
    std::vector<Token> tokens;
    error = lex(s.substr(1, s.size() - 2), &tokens);
    if (!error) {
      ExprParser parser(tokens, impl.get());
      error = json_form ? parser.json_pattern() : parser.delimited_pattern();
    }
  } else if (s.front() == '%') {
    if (s.size() < 2 || s.back() != '%') return std::string(kInvalidPattern);
    auto compiled = Regex::compile(s.substr(1, s.size() - 2));
    if (auto* why = std::get_if<std::string>(&compiled)) return std::move(*why);
    impl->regexes.push_back(std::move(std::get<Regex>(compiled)));
    impl->kind = FilterPattern::Kind::kRegex;
  } else {
    error = parse_terms(s, impl.get());
  }
  if (error) return std::move(*error);
  return FilterPattern(std::move(impl));
}

}  // namespace sless::services::logs
