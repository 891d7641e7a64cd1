// fuzz_text: the text codecs under every parser. An input is
//
//   <selector byte> BYTES
//
// and the selector picks: core/encoding (base64, hex, percent, UTF-8 check; with round trips
// and an independent UTF-8 reference), core/time_format parse (and the formatters on what it
// returns), storage::key::Decimal (parse, canonical text round trip, add/subtract, the
// order-preserving encoding), and the storage key readers on arbitrary bytes (what a reader
// accepts re-encodes to exactly the bytes it consumed).
#include <string>

#include "core/encoding.h"
#include "core/time_format.h"
#include "fuzz_target.h"
#include "storage/decimal.h"
#include "storage/keys.h"

namespace {

using namespace sless;
namespace key = sless::storage::key;

// RFC 3629's grammar, written independently of enc::is_valid_utf8.
bool reference_utf8(std::string_view s) {
  size_t i = 0;
  auto at = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto tail = [&](size_t k, unsigned lo = 0x80, unsigned hi = 0xbf) { return k < s.size() && at(k) >= lo && at(k) <= hi; };
  while (i < s.size()) {
    unsigned c = at(i);
    if (c <= 0x7f) {
      i += 1;
    } else if (c >= 0xc2 && c <= 0xdf && tail(i + 1)) {
      i += 2;
    } else if (c == 0xe0 && tail(i + 1, 0xa0, 0xbf) && tail(i + 2)) {
      i += 3;
    } else if (((c >= 0xe1 && c <= 0xec) || c == 0xee || c == 0xef) && tail(i + 1) && tail(i + 2)) {
      i += 3;
    } else if (c == 0xed && tail(i + 1, 0x80, 0x9f) && tail(i + 2)) {
      i += 3;
    } else if (c == 0xf0 && tail(i + 1, 0x90, 0xbf) && tail(i + 2) && tail(i + 3)) {
      i += 4;
    } else if (c >= 0xf1 && c <= 0xf3 && tail(i + 1) && tail(i + 2) && tail(i + 3)) {
      i += 4;
    } else if (c == 0xf4 && tail(i + 1, 0x80, 0x8f) && tail(i + 2) && tail(i + 3)) {
      i += 4;
    } else {
      return false;
    }
  }
  return true;
}

void fuzz_encoding(std::string_view s) {
  FUZZ_CHECK(enc::is_valid_utf8(s) == reference_utf8(s));

  FUZZ_CHECK(enc::base64_decode(enc::base64_encode(s)) == std::string(s));
  FUZZ_CHECK(enc::is_base64(enc::base64_encode(s)));
  auto b64 = enc::base64_decode(s);
  if (enc::is_base64(s)) FUZZ_CHECK(b64.has_value());

  FUZZ_CHECK(enc::hex_decode(enc::hex_encode(s)) == std::string(s));
  if (auto hex = enc::hex_decode(s)) FUZZ_CHECK(enc::hex_encode(*hex) == enc::to_lower(s));

  for (bool keep_slash : {false, true}) {
    std::string encoded = enc::percent_encode(s, keep_slash);
    FUZZ_CHECK(enc::percent_decode(encoded) == s);
    FUZZ_CHECK(enc::percent_decode(encoded, true) == s);
  }
  std::string decoded = enc::percent_decode(s, true);
  FUZZ_CHECK(decoded.size() <= s.size());
  FUZZ_CHECK(enc::iequals(s, enc::to_lower(s)));
}

void fuzz_time(std::string_view s) {
  auto ms = timefmt::parse(s);
  if (!ms) return;
  // Whatever parses can be written in every format without trouble, and within years
  // 0000-9999 the ISO 8601 text reads back as the same instant.
  std::string iso = timefmt::iso8601_ms(*ms);
  (void)timefmt::iso8601(*ms);
  (void)timefmt::rfc822(*ms);
  (void)timefmt::iso8601_basic(*ms);
  constexpr int64_t kYear10000 = 253402300800000;
  constexpr int64_t kYear0 = -62167219200000;
  if (*ms >= kYear0 && *ms < kYear10000) {
    auto back = timefmt::parse(iso);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *ms);
  }
}

std::string encoded(const key::Decimal& d) {
  std::string out;
  key::append_decimal(out, d);
  return out;
}

void fuzz_decimal(std::string_view s) {
  // Two numbers separated by a space: each parsed, then combined.
  auto space = s.find(' ');
  std::string_view first = s.substr(0, space);
  std::string error;
  auto a = key::Decimal::parse(first, &error);
  if (!a) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  std::string text = a->to_string();
  auto again = key::Decimal::parse(text, nullptr);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *a);
  FUZZ_CHECK(again->to_string() == text);
  FUZZ_CHECK(a->digits().size() <= key::Decimal::kMaxDigits);

  std::string enc_a = encoded(*a);
  std::string_view view = enc_a;
  key::Decimal read;
  FUZZ_CHECK(key::read_decimal(view, &read));
  FUZZ_CHECK(view.empty());
  FUZZ_CHECK(read == *a);

  if (space == std::string_view::npos) return;
  auto b = key::Decimal::parse(s.substr(space + 1), nullptr);
  if (!b) return;
  // The encoding orders as the numbers do.
  auto by_value = *a <=> *b;
  int by_bytes = enc_a.compare(encoded(*b));
  FUZZ_CHECK((by_value < 0) == (by_bytes < 0));
  FUZZ_CHECK((by_value == 0) == (by_bytes == 0));

  auto sum = key::add(*a, *b, &error);
  auto sum2 = key::add(*b, *a, nullptr);
  FUZZ_CHECK(sum.has_value() == sum2.has_value());
  if (sum) {
    FUZZ_CHECK(*sum == *sum2);
    auto back = key::subtract(*sum, *b, &error);
    FUZZ_CHECK(back.has_value());
    FUZZ_CHECK(*back == *a);
  }
}

// What a reader accepts re-encodes to exactly the bytes it consumed (`keep` skips values that
// have more than one encoding: -0.0 and NaNs).
template <class T, class Read, class Append>
void check_reader(std::string_view s, Read read, Append append, bool (*keep)(const T&) = nullptr) {
  std::string_view in = s;
  T value{};
  if (!read(in, &value) || (keep && !keep(value))) return;
  std::string again;
  append(again, value);
  FUZZ_CHECK(again == s.substr(0, s.size() - in.size()));
}

void fuzz_key_readers(std::string_view s) {
  check_reader<std::string>(s, key::read_string, key::append_string);
  check_reader<uint64_t>(s, key::read_u64, key::append_u64);
  check_reader<int64_t>(s, key::read_i64, key::append_i64);
  check_reader<double>(s, key::read_double, key::append_double, [](const double& d) { return d == d && d != 0.0; });
  check_reader<key::Decimal>(s, key::read_decimal, key::append_decimal);
  // Components in a row, as a scan over a column family reads them.
  std::string_view in = s;
  std::string str;
  key::Decimal d;
  for (int i = 0; i < 8 && !in.empty(); ++i) {
    if (!key::read_string(in, &str) && !key::read_decimal(in, &d)) break;
  }
  (void)key::prefix_end(s);
}

}  // namespace

SLESS_FUZZ_TARGET(text) {
  fuzz::Input in(data, size);
  uint8_t selector = in.byte();
  std::string_view s = in.rest();
  switch (selector % 4) {
    case 0: fuzz_encoding(s); break;
    case 1: fuzz_time(s); break;
    case 2: fuzz_decimal(s); break;
    case 3: fuzz_key_readers(s); break;
  }
  return 0;
}
