// fuzz_logs_pattern: CloudWatch Logs filter patterns (FilterLogEvents' filterPattern). An input is
//
//   PATTERN \n MESSAGE
//
// compiled with compile_filter_pattern and matched against the message. Invariants: nothing
// throws; a refusal has a message; compiling is deterministic (the same refusal, or patterns of
// the same kind that match alike); a pattern matches the same way twice; forms that should not
// change the answer do not: a regex or'ed with itself, a JSON expression in parentheses, terms
// padded with spaces, and a JSON or space-delimited message with a trailing space.
#include <string>
#include <variant>

#include "fuzz_target.h"
#include "services/logs/filter_pattern.h"

namespace {

using sless::services::logs::compile_filter_pattern;
using sless::services::logs::FilterPattern;

// When `variant` compiles (it may not: it can be longer, nest deeper, hold more regexes), it
// matches the message as `p` does.
void same_as(const FilterPattern& p, bool expected, const std::string& variant, std::string_view message) {
  auto v = compile_filter_pattern(variant);
  if (auto* other = std::get_if<FilterPattern>(&v)) FUZZ_CHECK(other->matches(message) == expected);
}

}  // namespace

SLESS_FUZZ_TARGET(logs_pattern) {
  sless::fuzz::Input in(data, size);
  std::string_view pattern = in.until('\n');
  std::string_view message = in.rest();

  auto first = compile_filter_pattern(pattern);
  auto second = compile_filter_pattern(pattern);
  FUZZ_CHECK(first.index() == second.index());
  if (auto* why = std::get_if<std::string>(&first)) {
    FUZZ_CHECK(!why->empty());
    FUZZ_CHECK(*why == std::get<std::string>(second));
    return 0;
  }
  const FilterPattern& p = std::get<FilterPattern>(first);
  const FilterPattern& q = std::get<FilterPattern>(second);
  FUZZ_CHECK(p.kind() == q.kind());
  bool m = p.matches(message);
  FUZZ_CHECK(p.matches(message) == m);
  FUZZ_CHECK(q.matches(message) == m);
  FilterPattern copy = p;
  FUZZ_CHECK(copy.matches(message) == m);

  // The pattern as compile_filter_pattern trims it.
  std::string_view t = pattern;
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!t.empty() && blank(t.front())) t.remove_prefix(1);
  while (!t.empty() && blank(t.back())) t.remove_suffix(1);
  std::string inner(t.size() >= 2 ? t.substr(1, t.size() - 2) : std::string_view());
  switch (p.kind()) {
    case FilterPattern::Kind::kEverything:
      FUZZ_CHECK(m);
      break;
    case FilterPattern::Kind::kTerms:
      same_as(p, m, " " + std::string(pattern) + " ", message);
      break;
    case FilterPattern::Kind::kRegex:
      same_as(p, m, "%" + inner + "|" + inner + "%", message);
      break;
    case FilterPattern::Kind::kJson:
      same_as(p, m, "{(" + inner + ")}", message);
      same_as(p, m, std::string(pattern), std::string(message) + " ");
      break;
    case FilterPattern::Kind::kDelimited:
      same_as(p, m, std::string(pattern), std::string(message) + " ");
      break;
  }
  return 0;
}
