// Order-preserving key codecs: every key is a sequence of components whose encodings compare
// byte-wise exactly as the values compare component-wise. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "storage/decimal.h"

namespace sless::storage::key {

// Each appender adds one self-delimiting component to out; each reader consumes one from the
// front of in and returns false (leaving in unspecified) when the bytes are not such a component.

// Strings and binary: 0x00 becomes 0x00 0xFF and the component ends with 0x00 0x01,
// so "a" < "a\0" < "ab" still holds after encoding.
void append_string(std::string& out, std::string_view s);
bool read_string(std::string_view& in, std::string* out);
inline void append_bytes(std::string& out, std::string_view b) { append_string(out, b); }
inline bool read_bytes(std::string_view& in, std::string* out) { return read_string(in, out); }

// Fixed 4 bytes, big-endian.
void append_u32(std::string& out, uint32_t v);
bool read_u32(std::string_view& in, uint32_t* out);
// Fixed 8 bytes, big-endian; signed values with the sign bit flipped.
void append_u64(std::string& out, uint64_t v);
bool read_u64(std::string_view& in, uint64_t* out);
void append_i64(std::string& out, int64_t v);
bool read_i64(std::string_view& in, int64_t* out);

// IEEE-754 bits, negatives fully inverted and positives with the sign bit set. -0.0 is stored as
// 0.0; NaNs sort after +infinity (or before -infinity when their sign bit is set).
void append_double(std::string& out, double v);
bool read_double(std::string_view& in, double* out);

// A sign marker (negative < zero < positive); then, for non-zero values, the biased exponent
// and the digits two to a byte, ended by a byte below any digit pair. Negatives are the
// byte-complement of their magnitude's encoding, so larger magnitudes sort first.
void append_decimal(std::string& out, const Decimal& d);
bool read_decimal(std::string_view& in, Decimal* out);

// The smallest string greater than every string that starts with prefix; empty when none
// exists (prefix empty or all 0xFF), which iterators read as "unbounded".
std::string prefix_end(std::string_view prefix);

// The account/region scope every service key starts with.
std::string scope(std::string_view account, std::string_view region);

// Builds a key component by component, after the account/region scope:
//   KeyBuilder(account, region).str("queue").str(name).u64(seq).take()
class KeyBuilder {
 public:
  KeyBuilder(std::string_view account, std::string_view region) : key_(scope(account, region)) {}

  KeyBuilder& str(std::string_view s) { return append_with(append_string, s); }
  KeyBuilder& bytes(std::string_view b) { return append_with(append_bytes, b); }
  KeyBuilder& u64(uint64_t v) { return append_with(append_u64, v); }
  KeyBuilder& i64(int64_t v) { return append_with(append_i64, v); }
  KeyBuilder& f64(double v) { return append_with(append_double, v); }
  KeyBuilder& decimal(const Decimal& d) { return append_with(append_decimal, d); }
  // Appends bytes that are already encoded components.
  KeyBuilder& raw(std::string_view encoded) {
    key_.append(encoded);
    return *this;
  }

  const std::string& key() const { return key_; }
  std::string take() { return std::move(key_); }

 private:
  template <class Append, class Value>
  KeyBuilder& append_with(Append append, const Value& v) {
    append(key_, v);
    return *this;
  }

  std::string key_;
};

}  // namespace sless::storage::key
