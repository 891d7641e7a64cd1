// The opaque positions Kinesis hands out: sequence numbers, shard ids and shard iterators.
// Pure functions; any thread.
//
// A sequence number is 56 decimal digits, fixed width, so it compares the same as a number and
// as a string, and it says where its record lives:
//
//   49 | stream created, epoch ms (14) | shard index (10) | 0000000000 | record counter (20)
//
// Within a shard the counter grows by one per record, so numbers increase; a child shard has a
// higher index than its parents, so its numbers are above theirs. The stream's creation time
// tells a number from an earlier stream of the same name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sless::services::kinesis {

struct SequenceNumber {
  int64_t stream_created_ms = 0;
  uint32_t shard_index = 0;
  uint64_t counter = 0;
};

inline constexpr size_t kSequenceDigits = 56;

std::string format_sequence(const SequenceNumber& s);
// Rewrites the counter of a sequence number made by format_sequence, in place (for runs of
// records of one shard).
void set_sequence_counter(std::string& formatted, uint64_t counter);
// nullopt unless exactly the 56-digit form above.
std::optional<SequenceNumber> parse_sequence(std::string_view text);

// "shardId-000000000007".
std::string format_shard_id(uint32_t index);
// Accepts "shardId-<digits>" and bare "<digits>" (as AWS does); nullopt otherwise.
std::optional<uint32_t> parse_shard_id(std::string_view text);

// A shard iterator: which stream incarnation and shard, the counter of the next record to read,
// and when it was made (iterators expire after five minutes). Base64 text with a checksum, so
// a mangled iterator is recognised as invalid.
struct ShardIterator {
  uint64_t stream_uid = 0;
  uint32_t shard_index = 0;
  uint64_t position = 0;
  int64_t created_ms = 0;
};

std::string format_iterator(const ShardIterator& it);
std::optional<ShardIterator> parse_iterator(std::string_view text);

}  // namespace sless::services::kinesis
