// Sequence numbers (fixed-width decimals that order as numbers and as strings), shard ids and
// shard iterators (opaque, checksummed).
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "services/kinesis/sequence.h"

using namespace sless::services::kinesis;

TEST_CASE("sequence numbers: 56 digits that round-trip", "[kinesis]") {
  SequenceNumber s{1700000000123, 7, 42};
  std::string text = format_sequence(s);
  CHECK(text.size() == 56);
  CHECK(text.find_first_not_of("0123456789") == std::string::npos);
  auto back = parse_sequence(text);
  REQUIRE(back);
  CHECK(back->stream_created_ms == 1700000000123);
  CHECK(back->shard_index == 7);
  CHECK(back->counter == 42);
  CHECK(parse_sequence(format_sequence({0, UINT32_MAX, UINT64_MAX}))->counter == UINT64_MAX);
  CHECK_FALSE(parse_sequence(""));
  CHECK_FALSE(parse_sequence(text.substr(1)));
  CHECK_FALSE(parse_sequence("4" + text));
  CHECK_FALSE(parse_sequence("12345"));
  std::string bad = text;
  bad[40] = 'x';
  CHECK_FALSE(parse_sequence(bad));
}

TEST_CASE("sequence numbers: string order is numeric order, counter within a shard", "[kinesis]") {
  std::vector<std::string> seqs;
  for (uint64_t c : {0ull, 1ull, 9ull, 10ull, 99ull, 100ull, 123456789ull, 18446744073709551615ull}) {
    seqs.push_back(format_sequence({1700000000000, 3, c}));
  }
  CHECK(std::is_sorted(seqs.begin(), seqs.end()));
  // A child shard (higher index) sorts after its parent, whatever the counters.
  CHECK(format_sequence({1700000000000, 2, 0}) > format_sequence({1700000000000, 1, 1000000}));
}

TEST_CASE("shard ids", "[kinesis]") {
  CHECK(format_shard_id(0) == "shardId-000000000000");
  CHECK(format_shard_id(123) == "shardId-000000000123");
  CHECK(parse_shard_id("shardId-000000000123") == 123u);
  CHECK(parse_shard_id("shardId-5") == 5u);
  CHECK(parse_shard_id("7") == 7u);
  CHECK_FALSE(parse_shard_id("shardId-"));
  CHECK_FALSE(parse_shard_id("shard-1"));
  CHECK_FALSE(parse_shard_id("shardId-99999999999999"));
}

TEST_CASE("shard iterators round-trip and reject tampering", "[kinesis]") {
  ShardIterator it{0x0123456789abcdefull, 9, 77, 1700000000999};
  std::string text = format_iterator(it);
  auto back = parse_iterator(text);
  REQUIRE(back);
  CHECK(back->stream_uid == it.stream_uid);
  CHECK(back->shard_index == 9);
  CHECK(back->position == 77);
  CHECK(back->created_ms == 1700000000999);
  for (size_t i = 0; i < text.size(); ++i) {
    std::string t = text;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    auto parsed = parse_iterator(t);
    // Either rejected, or (for a change in base64 padding bits only) the same iterator.
    if (parsed) CHECK(parsed->position == 77);
  }
  CHECK_FALSE(parse_iterator("not an iterator"));
  CHECK_FALSE(parse_iterator(""));
}
