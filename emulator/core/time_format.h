// Timestamps on the wire: ISO 8601, RFC 822 (HTTP dates) and epoch seconds.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sless::timefmt {

// "2024-05-01T12:34:56.789Z" (milliseconds always present).
std::string iso8601_ms(int64_t epoch_ms);
// "2024-05-01T12:34:56Z".
std::string iso8601(int64_t epoch_ms);
// "Wed, 01 May 2024 12:34:56 GMT".
std::string rfc822(int64_t epoch_ms);
// "20240501T123456Z" (SigV4's basic format).
std::string iso8601_basic(int64_t epoch_ms);

// The instants parse() accepts, in milliseconds since the epoch: the years 0000-9999, which the
// formatters write and read back. (The formatters take any value.)
constexpr int64_t kMinMs = -62167219200000;  // 0000-01-01T00:00:00Z
constexpr int64_t kEndMs = 253402300800000;  // 10000-01-01T00:00:00Z, excluded

// Parses ISO 8601 (with or without fraction, 'Z' or an offset, basic or extended), RFC 1123 /
// RFC 850 HTTP dates (GMT), or epoch seconds (integer or fractional). Returns milliseconds since
// the epoch (finer fractions truncated); nullopt for malformed text and for instants outside the
// years 0000-9999.
std::optional<int64_t> parse(std::string_view text);

}  // namespace sless::timefmt
