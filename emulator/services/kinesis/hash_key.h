// Kinesis's 128-bit hash key space: partition keys hash to it by MD5 (read as a big-endian
// unsigned integer), shards own contiguous ranges of it, and keys travel as decimal text.
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sless::services::kinesis {

using HashKey = unsigned __int128;

inline constexpr HashKey kMaxHashKey = ~HashKey{0};  // 2^128 - 1

// Decimal text, no leading zeros ("0" for zero).
std::string to_decimal(HashKey v);

// Parses a decimal in [0, 2^128 - 1] (digits only, at most 39 of them, leading zeros allowed);
// nullopt for anything else.
std::optional<HashKey> parse_hash_key(std::string_view text);

// The hash key a partition key maps to: MD5 of its UTF-8 bytes as a big-endian integer.
HashKey hash_of_partition_key(std::string_view partition_key);

// The starting hash key of shard `i` when `n` shards split the key space evenly, as AWS lays
// out a new stream: shard i starts at i * floor(2^128 / n); the last one ends at 2^128 - 1.
HashKey even_split_start(uint32_t i, uint32_t n);

}  // namespace sless::services::kinesis
