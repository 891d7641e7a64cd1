// CloudWatch Logs filter patterns (FilterLogEvents' filterPattern), compiled once per request and
// matched against many messages. A compiled pattern is immutable: copies share it, and any thread
// may match with it.
//
// The forms, as the CloudWatch Logs User Guide's "Filter pattern syntax" page describes them:
//
//   ""  or  " "              every event
//   ERROR "a phrase" -DEBUG  terms: each plain term must appear, no -term may; ?terms: any one of
//                            them, and only when the pattern has no other terms (else ignored)
//   %regex%                  a regular expression (the documented subset, without groups),
//                            searched in the message
//   { $.a.b = "x*" && ... }  JSON messages: selectors, = != < > <= >=, IS TRUE / FALSE / NULL,
//                            NOT EXISTS, && || and parentheses; values may be %regex%
//   [ip, user, ..., code=4*] space-delimited messages: one name per field, conditions joined by
//                            && and ||, "..." for any number of fields
//
// Compiling refuses what the documented grammar does not allow (and what AWS refuses: terms with
// symbols outside quotes, more than two regexes in a JSON or space-delimited pattern, regex
// characters outside the subset). Matching takes time linear in the message (times the size of
// the pattern) and never recurses on the message, which is untrusted and up to 256 KB.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace sless::services::logs {

class FilterPattern {
 public:
  enum class Kind { kEverything, kTerms, kRegex, kJson, kDelimited };

  static constexpr size_t kMaxLength = 1024;    // characters, the API's limit on filterPattern
  static constexpr int kMaxNesting = 32;        // parentheses in a JSON pattern
  static constexpr int kMaxRegexes = 2;         // in a JSON or space-delimited pattern
  static constexpr size_t kMaxRegexSize = 2048;  // NFA positions of one regex, counts expanded

  Kind kind() const;
  bool matches(std::string_view message) const;

  struct Impl;

 private:
  friend std::variant<FilterPattern, std::string> compile_filter_pattern(std::string_view pattern);
  explicit FilterPattern(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}

  std::shared_ptr<const Impl> impl_;
};

// The compiled pattern, or why the pattern is refused (the message of the service's
// InvalidParameterException).
std::variant<FilterPattern, std::string> compile_filter_pattern(std::string_view pattern);

}  // namespace sless::services::logs
