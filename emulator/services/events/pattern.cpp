#include "services/events/pattern.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <ctime>

namespace sless::services::events {

using nlohmann::json;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool glob(std::string_view pat, std::string_view s) {
  // '*' matches any run; iterative with backtracking to the last star.
  size_t p = 0, i = 0, star = std::string_view::npos, mark = 0;
  while (i < s.size()) {
    if (p < pat.size() && pat[p] == '*') {
      star = p++;
      mark = i;
    } else if (p < pat.size() && pat[p] == s[i]) {
      ++p;
      ++i;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      i = ++mark;
    } else {
      return false;
    }
  }
  while (p < pat.size() && pat[p] == '*') ++p;
  return p == pat.size();
}

bool in_cidr(const std::string& cidr, const std::string& ip) {
  auto slash = cidr.find('/');
  if (slash == std::string::npos) return false;
  int bits = std::atoi(cidr.c_str() + slash + 1);
  std::string net = cidr.substr(0, slash);
  unsigned char a[16], b[16];
  int family = net.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  if (inet_pton(family, net.c_str(), a) != 1 || inet_pton(family, ip.c_str(), b) != 1) return false;
  int total = family == AF_INET ? 32 : 128;
  if (bits < 0 || bits > total) return false;
  for (int i = 0; i < bits; ++i) {
    int byte = i / 8, bit = 7 - i % 8;
    if (((a[byte] >> bit) & 1) != ((b[byte] >> bit) & 1)) return false;
  }
  return true;
}

bool literal_equals(const json& lit, const json& v) {
  if (lit.is_number() && v.is_number()) return lit.get<double>() == v.get<double>();
  return lit == v;
}

bool numeric_ok(const json& spec, double v) {
  for (size_t i = 0; i + 1 < spec.size(); i += 2) {
    std::string op = spec[i];
    double x = spec[i + 1].get<double>();
    bool ok = op == "=" ? v == x : op == "<" ? v < x : op == "<=" ? v <= x : op == ">" ? v > x : op == ">=" ? v >= x : false;
    if (!ok) return false;
  }
  return true;
}

// One matcher against one present value.
bool match_one(const json& m, const json& v) {
  if (!m.is_object()) return literal_equals(m, v);
  auto [key, arg] = *m.items().begin();
  if (key == "prefix") {
    if (!v.is_string()) return false;
    if (arg.is_object()) return lower(v.get<std::string>()).rfind(lower(arg.value("equals-ignore-case", "")), 0) == 0;
    return v.get<std::string>().rfind(arg.get<std::string>(), 0) == 0;
  }
  if (key == "suffix") {
    if (!v.is_string()) return false;
    std::string s = v.get<std::string>();
    std::string suf = arg.is_object() ? arg.value("equals-ignore-case", "") : arg.get<std::string>();
    if (arg.is_object()) {
      s = lower(s);
      suf = lower(suf);
    }
    return s.size() >= suf.size() && s.compare(s.size() - suf.size(), suf.size(), suf) == 0;
  }
  if (key == "equals-ignore-case") return v.is_string() && lower(v.get<std::string>()) == lower(arg.get<std::string>());
  if (key == "numeric") return v.is_number() && numeric_ok(arg, v.get<double>());
  if (key == "cidr") return v.is_string() && in_cidr(arg.get<std::string>(), v.get<std::string>());
  if (key == "wildcard") return v.is_string() && glob(arg.get<std::string>(), v.get<std::string>());
  if (key == "anything-but") {
    if (arg.is_array()) {
      return std::none_of(arg.begin(), arg.end(), [&](const json& x) { return literal_equals(x, v); });
    }
    if (arg.is_object()) return !match_one(arg, v);
    return !literal_equals(arg, v);
  }
  return false;
}

bool match_field(const json& matchers, const json* value) {
  for (const auto& m : matchers) {
    if (m.is_object() && m.contains("exists")) {
      if (m["exists"].get<bool>() == (value != nullptr)) return true;
      continue;
    }
    if (!value) continue;
    if (value->is_array()) {
      for (const auto& element : *value) {
        if (match_one(m, element)) return true;
      }
    } else if (match_one(m, *value)) {
      return true;
    }
  }
  return false;
}

std::optional<std::string> check_matcher(const json& m) {
  if (!m.is_object()) {
    if (m.is_array()) return "nested arrays are not allowed";
    return std::nullopt;
  }
  if (m.size() != 1) return "a matcher object must have exactly one key";
  auto [key, arg] = *m.items().begin();
  if (key == "prefix" || key == "suffix") {
    if (arg.is_string() || (arg.is_object() && arg.contains("equals-ignore-case") && arg["equals-ignore-case"].is_string())) {
      return std::nullopt;
    }
    return key + " match pattern must be a string";
  }
  if (key == "equals-ignore-case" || key == "wildcard" || key == "cidr") {
    if (!arg.is_string()) return key + " match pattern must be a string";
    if (key == "cidr" && arg.get<std::string>().find('/') == std::string::npos) return "Malformed CIDR";
    return std::nullopt;
  }
  if (key == "exists") return arg.is_boolean() ? std::nullopt : std::optional<std::string>("exists match pattern must be either true or false.");
  if (key == "numeric") {
    if (!arg.is_array() || arg.empty() || arg.size() % 2 != 0) return "Value of numeric must be an array.";
    for (size_t i = 0; i < arg.size(); i += 2) {
      if (!arg[i].is_string() || !arg[i + 1].is_number()) return "Value of numeric must be an array.";
      std::string op = arg[i];
      if (op != "=" && op != "<" && op != "<=" && op != ">" && op != ">=") return "Unrecognized numeric range operator: " + op;
    }
    return std::nullopt;
  }
  if (key == "anything-but") {
    if (arg.is_array() || arg.is_string() || arg.is_number()) return std::nullopt;
    if (arg.is_object()) return check_matcher(arg);
    return "Value of anything-but must be an array or single string/number value.";
  }
  return "Unrecognized match type " + key;
}

std::optional<std::string> check_object(const json& p) {
  if (!p.is_object()) return "Filter is not an object";
  for (const auto& [k, v] : p.items()) {
    if (k == "$or") {
      if (!v.is_array() || v.size() < 2) return "Value of $or must be an array of at least two patterns";
      for (const auto& alt : v) {
        if (auto e = check_object(alt)) return e;
      }
    } else if (v.is_object()) {
      if (auto e = check_object(v)) return e;
    } else if (v.is_array()) {
      if (v.empty()) return "Empty arrays are not allowed";
      for (const auto& m : v) {
        if (auto e = check_matcher(m)) return e;
      }
    } else {
      return "Match value must be String, number, true, false, or null";
    }
  }
  return std::nullopt;
}

bool match_object(const json& pattern, const json& event) {
  static const json kEmpty = json::object();
  const json& ev = event.is_object() ? event : kEmpty;
  for (const auto& [k, p] : pattern.items()) {
    if (k == "$or") {
      if (std::none_of(p.begin(), p.end(), [&](const json& alt) { return match_object(alt, ev); })) return false;
      continue;
    }
    auto it = ev.find(k);
    if (p.is_object()) {
      if (!match_object(p, it == ev.end() ? kEmpty : *it)) return false;
    } else if (!match_field(p, it == ev.end() ? nullptr : &*it)) {
      return false;
    }
  }
  return true;
}

// ---- schedules ----

int days_in_month(int year, int month) {
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

int name_value(const std::string& s, const char* const* names, int count, int base) {
  std::string u = s;
  for (char& c : u) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  for (int i = 0; i < count; ++i) {
    if (u == names[i]) return base + i;
  }
  char* end = nullptr;
  long v = std::strtol(s.c_str(), &end, 10);
  if (v < 0 || v > 100000) return -1;  // beyond every field's range; keeps steps and int conversions from overflowing
  return end && *end == '\0' && !s.empty() ? static_cast<int>(v) : -1;
}

// Parses one cron field into a bitset over [lo, hi].
bool parse_field(const std::string& text, int lo, int hi, const char* const* names, int name_count, uint64_t* bits) {
  *bits = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    int step = 1;
    if (auto slash = item.find('/'); slash != std::string::npos) {
      step = name_value(item.substr(slash + 1), nullptr, 0, 0);
      if (step <= 0) return false;
      item = item.substr(0, slash);
    }
    int a = lo, b = hi;
    if (item != "*") {
      if (auto dash = item.find('-'); dash != std::string::npos) {
        a = name_value(item.substr(0, dash), names, name_count, lo);
        b = name_value(item.substr(dash + 1), names, name_count, lo);
      } else {
        a = name_value(item, names, name_count, lo);
        b = step > 1 ? hi : a;
      }
    }
    if (a < lo || b > hi || a > b) return false;
    for (int v = a; v <= b; v += step) *bits |= uint64_t{1} << v;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return *bits != 0;
}

}  // namespace

std::optional<std::string> check_pattern(const json& pattern) {
  if (!pattern.is_object()) return "Event pattern must be a JSON object";
  return check_object(pattern);
}

bool matches(const json& pattern, const json& event) { return match_object(pattern, event); }

std::optional<Schedule> Schedule::parse(const std::string& expr) {
  Schedule s;
  if (expr.rfind("rate(", 0) == 0 && expr.back() == ')') {
    std::string inner = expr.substr(5, expr.size() - 6);
    auto space = inner.find(' ');
    if (space == std::string::npos) return std::nullopt;
    char* end = nullptr;
    long n = std::strtol(inner.c_str(), &end, 10);
    if (end != inner.c_str() + space || n <= 0 || n > 1'000'000'000) return std::nullopt;
    std::string unit = inner.substr(space + 1);
    int64_t ms;
    if (unit == "minute" || unit == "minutes") ms = 60'000;
    else if (unit == "hour" || unit == "hours") ms = 3'600'000;
    else if (unit == "day" || unit == "days") ms = 86'400'000;
    else return std::nullopt;
    bool plural = unit.back() == 's';
    if ((n == 1) == plural) return std::nullopt;  // "1 minute", "5 minutes"
    s.is_rate_ = true;
    s.period_ms_ = n * ms;
    return s;
  }
  if (expr.rfind("cron(", 0) != 0 || expr.back() != ')') return std::nullopt;
  std::string inner = expr.substr(5, expr.size() - 6);
  std::vector<std::string> f;
  size_t start = 0;
  while (start < inner.size()) {
    while (start < inner.size() && inner[start] == ' ') ++start;
    if (start >= inner.size()) break;
    size_t sp = inner.find(' ', start);
    f.push_back(inner.substr(start, sp == std::string::npos ? std::string::npos : sp - start));
    if (sp == std::string::npos) break;
    start = sp + 1;
  }
  if (f.size() != 6) return std::nullopt;
  static const char* const kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static const char* const kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};
  uint64_t bits;
  if (!parse_field(f[0], 0, 59, nullptr, 0, &bits)) return std::nullopt;
  s.minutes_ = bits;
  if (!parse_field(f[1], 0, 23, nullptr, 0, &bits)) return std::nullopt;
  s.hours_ = static_cast<uint32_t>(bits);
  if (!parse_field(f[3], 1, 12, kMonths, 12, &bits)) return std::nullopt;
  s.months_ = static_cast<uint16_t>(bits);
  bool dom_q = f[2] == "?", dow_q = f[4] == "?";
  if (dom_q == dow_q) return std::nullopt;  // exactly one of them is '?'
  if (!dom_q) {
    s.any_day_ = f[2] == "*";
    if (f[2] == "L") {
      s.last_day_ = true;
    } else if (!s.any_day_) {
      if (!parse_field(f[2], 1, 31, nullptr, 0, &bits)) return std::nullopt;
      s.days_ = static_cast<uint32_t>(bits);
    }
  }
  if (!dow_q) {
    s.any_weekday_ = f[4] == "*";
    if (auto hash = f[4].find('#'); hash != std::string::npos) {
      s.nth_weekday_ = name_value(f[4].substr(0, hash), kDays, 7, 1);
      s.nth_which_ = std::atoi(f[4].c_str() + hash + 1);
      if (s.nth_weekday_ < 1 || s.nth_weekday_ > 7 || s.nth_which_ < 1 || s.nth_which_ > 5) return std::nullopt;
    } else if (!s.any_weekday_) {
      if (!parse_field(f[4], 1, 7, kDays, 7, &bits)) return std::nullopt;
      s.weekdays_ = static_cast<uint8_t>(bits);
    }
  }
  if (f[5] != "*") {
    auto dash = f[5].find('-');
    s.year_from_ = std::atoi(f[5].c_str());
    s.year_to_ = dash == std::string::npos ? s.year_from_ : std::atoi(f[5].c_str() + dash + 1);
    if (s.year_from_ < 1970 || s.year_to_ > 2199 || s.year_from_ > s.year_to_) return std::nullopt;
  }
  return s;
}

int64_t Schedule::next_after(int64_t after_ms, int64_t created_ms) const {
  if (is_rate_) {
    if (after_ms < created_ms) return created_ms + period_ms_;
    int64_t k = (after_ms - created_ms) / period_ms_ + 1;
    return created_ms + k * period_ms_;
  }
  time_t t = static_cast<time_t>(after_ms / 60000 + 1) * 60;  // the next whole minute
  for (int guard = 0; guard < 200000; ++guard) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    int year = tm.tm_year + 1900, month = tm.tm_mon + 1, day = tm.tm_mday, wday = tm.tm_wday + 1;
    if (year > year_to_) return 0;
    if (year < year_from_ || !(months_ >> month & 1)) {
      // the first day of the next month
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      tm.tm_mon += 1;
      t = timegm(&tm);
      continue;
    }
    bool day_ok = true;
    if (!any_day_ || last_day_) {
      day_ok = last_day_ ? day == days_in_month(year, month) : (days_ >> day & 1);
    }
    if (!any_weekday_) {
      day_ok = nth_weekday_ ? (wday == nth_weekday_ && (day - 1) / 7 + 1 == nth_which_) : (weekdays_ >> wday & 1);
    }
    if (!day_ok) {
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      tm.tm_mday += 1;
      t = timegm(&tm);
      continue;
    }
    if (!(hours_ >> tm.tm_hour & 1)) {
      tm.tm_min = tm.tm_sec = 0;
      tm.tm_hour += 1;
      t = timegm(&tm);
      continue;
    }
    if (!(minutes_ >> tm.tm_min & 1)) {
      t += 60;
      continue;
    }
    return static_cast<int64_t>(t) * 1000;
  }
  return 0;
}

}  // namespace sless::services::events
