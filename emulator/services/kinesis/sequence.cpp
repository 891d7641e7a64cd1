#include "services/kinesis/sequence.h"


#include "core/crypto.h"
#include "core/encoding.h"

namespace sless::services::kinesis {
namespace {

constexpr std::string_view kSequencePrefix = "49";
constexpr std::string_view kReserved = "0000000000";
constexpr std::string_view kShardPrefix = "shardId-";
constexpr char kIteratorVersion = 1;
constexpr size_t kIteratorBody = 1 + 8 + 4 + 8 + 8;  // version, uid, shard, position, created

// Appends v as exactly `width` digits (v must fit).
void append_digits(std::string& out, uint64_t v, size_t width) {
  size_t at = out.size();
  out.append(width, '0');
  for (size_t i = width; i-- > 0 && v != 0;) {
    out[at + i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

std::optional<uint64_t> read_digits(std::string_view s) {
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint64_t get_be(std::string_view in, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[at + static_cast<size_t>(i)]);
  return v;
}

}  // namespace

std::string format_sequence(const SequenceNumber& s) {
  std::string out;
  out.reserve(kSequenceDigits);
  out.append(kSequencePrefix);
  append_digits(out, static_cast<uint64_t>(s.stream_created_ms < 0 ? 0 : s.stream_created_ms), 14);
  append_digits(out, s.shard_index, 10);
  out.append(kReserved);
  append_digits(out, s.counter, 20);
  return out;
}

void set_sequence_counter(std::string& formatted, uint64_t counter) {
  if (formatted.size() != kSequenceDigits) return;
  formatted.resize(kSequenceDigits - 20);
  append_digits(formatted, counter, 20);
}

std::optional<SequenceNumber> parse_sequence(std::string_view text) {
  if (text.size() != kSequenceDigits || text.substr(0, 2) != kSequencePrefix || text.substr(26, 10) != kReserved) {
    return std::nullopt;
  }
  auto created = read_digits(text.substr(2, 14));
  auto shard = read_digits(text.substr(16, 10));
  auto counter = read_digits(text.substr(36, 20));
  if (!created || !shard || !counter || *shard > UINT32_MAX) return std::nullopt;
  return SequenceNumber{static_cast<int64_t>(*created), static_cast<uint32_t>(*shard), *counter};
}

std::string format_shard_id(uint32_t index) {
  std::string out(kShardPrefix);
  append_digits(out, index, 12);
  return out;
}

std::optional<uint32_t> parse_shard_id(std::string_view text) {
  if (enc::starts_with(text, kShardPrefix)) text.remove_prefix(kShardPrefix.size());
  if (text.empty() || text.size() > 12) return std::nullopt;
  auto v = read_digits(text);
  if (!v || *v > UINT32_MAX) return std::nullopt;
  return static_cast<uint32_t>(*v);
}

std::string format_iterator(const ShardIterator& it) {
  std::string raw;
  raw.reserve(kIteratorBody + 4);
  raw.push_back(kIteratorVersion);
  put_be(raw, it.stream_uid, 8);
  put_be(raw, it.shard_index, 4);
  put_be(raw, it.position, 8);
  put_be(raw, static_cast<uint64_t>(it.created_ms), 8);
  put_be(raw, crypto::crc32(raw), 4);
  return enc::base64_encode(raw);
}

std::optional<ShardIterator> parse_iterator(std::string_view text) {
  auto raw = enc::base64_decode(text);
  if (!raw || raw->size() != kIteratorBody + 4 || (*raw)[0] != kIteratorVersion) return std::nullopt;
  std::string_view body(raw->data(), kIteratorBody);
  if (get_be(*raw, kIteratorBody, 4) != crypto::crc32(body)) return std::nullopt;
  ShardIterator it;
  it.stream_uid = get_be(*raw, 1, 8);
  it.shard_index = static_cast<uint32_t>(get_be(*raw, 9, 4));
  it.position = get_be(*raw, 13, 8);
  it.created_ms = static_cast<int64_t>(get_be(*raw, 21, 8));
  return it;
}

}  // namespace sless::services::kinesis
