// A JSON parser for the hot paths (request bodies, function answers, plugin service calls) that
// builds the same nlohmann::json as json::parse(text, nullptr, false) does, about three times
// faster: strings are copied in runs between escapes instead of a character at a time, and no
// token text is kept for error messages. Same grammar and results: RFC 8259, UTF-8 checked,
// a leading byte order mark skipped, non-negative integers unsigned and negative ones signed
// while they fit 64 bits (doubles otherwise), numbers that overflow a double refused, and the
// last of duplicate keys kept, the text ending at a NUL byte after the value. tests/fuzz/fuzz_json.cpp holds it to nlohmann's answers.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace sless::json_text {

// The value, or a discarded value when the text is not JSON or nests deeper than max_depth
// arrays and objects (then *too_deep is set, when given).
nlohmann::json parse(std::string_view text, int max_depth = 512, bool* too_deep = nullptr);

}  // namespace sless::json_text
