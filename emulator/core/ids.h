// Identifiers: request ids, UUIDs, random tokens, account ids and ARNs.
// Thread-safe: each thread draws from its own generator.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sless::ids {

inline constexpr std::string_view kDefaultAccount = "000000000000";

// A random 64-bit value from a per-thread generator seeded from the OS.
uint64_t random_u64();
// RFC 4122 version-4 UUID text, lower case ("8d0c...-....").
std::string uuid();
// n random lower-case hex digits.
std::string random_hex(size_t n);
// n random characters from [A-Za-z0-9].
std::string random_alnum(size_t n);

// The account a request acts in: the access key id itself when it is 12 digits (LocalStack's
// convention, so tests can use several accounts), else the default account.
std::string account_from_access_key(std::string_view access_key_id);

// arn:aws:<service>:<region>:<account>:<resource>
std::string arn(std::string_view service, std::string_view region, std::string_view account,
                std::string_view resource);

}  // namespace sless::ids
