// Text encodings used on the wire: base64, hex, percent-encoding, and UTF-8 checks.
// Pure functions; any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace sless::enc {

std::string base64_encode(std::string_view bytes);
// Accepts padded or unpadded standard base64; nullopt on any other character.
std::optional<std::string> base64_decode(std::string_view text);
bool is_base64(std::string_view text);

std::string hex_encode(std::string_view bytes);
std::optional<std::string> hex_decode(std::string_view text);

// Decodes %XX escapes; with plus_as_space, '+' becomes ' ' (form encoding).
// Malformed escapes are kept as they are, as browsers and AWS front ends do.
std::string percent_decode(std::string_view text, bool plus_as_space = false);
// RFC 3986 encoding: unreserved characters kept; with keep_slash, '/' kept too.
std::string percent_encode(std::string_view text, bool keep_slash = false);

// True when text is well-formed UTF-8 (no overlongs, no surrogates).
bool is_valid_utf8(std::string_view text);

// ASCII case-insensitive equality and lower-casing. The length check is inline: most callers
// compare a name against many others of other lengths (a request's headers, for instance).
bool iequals_same_size(std::string_view a, std::string_view b);
inline bool iequals(std::string_view a, std::string_view b) { return a.size() == b.size() && iequals_same_size(a, b); }
std::string to_lower(std::string_view s);
bool starts_with(std::string_view s, std::string_view prefix);
bool ends_with(std::string_view s, std::string_view suffix);

}  // namespace sless::enc
