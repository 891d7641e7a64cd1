// The 128-bit hash key space: decimal text, MD5 of partition keys, and AWS's even layout.
#include <catch2/catch.hpp>

#include "services/kinesis/hash_key.h"

using namespace sless::services::kinesis;

TEST_CASE("hash keys: decimal text both ways, within [0, 2^128-1]", "[kinesis]") {
  CHECK(to_decimal(0) == "0");
  CHECK(to_decimal(kMaxHashKey) == "340282366920938463463374607431768211455");
  CHECK(parse_hash_key("340282366920938463463374607431768211455") == kMaxHashKey);
  CHECK(parse_hash_key("0") == HashKey{0});
  CHECK(parse_hash_key("000123") == HashKey{123});
  CHECK_FALSE(parse_hash_key("340282366920938463463374607431768211456"));  // 2^128
  CHECK_FALSE(parse_hash_key("1000000000000000000000000000000000000000"));
  CHECK_FALSE(parse_hash_key(""));
  CHECK_FALSE(parse_hash_key("-1"));
  CHECK_FALSE(parse_hash_key("12a"));
  CHECK_FALSE(parse_hash_key(" 1"));
  HashKey v = kMaxHashKey / 7;
  CHECK(parse_hash_key(to_decimal(v)) == v);
}

TEST_CASE("hash keys: a partition key maps to its MD5 read big-endian", "[kinesis]") {
  // md5("a") = 0cc175b9c0f1b6a831c399e269772661
  CHECK(to_decimal(hash_of_partition_key("a")) == "16955237001963240173058271559858726497");
  // md5("") = d41d8cd98f00b204e9800998ecf8427e
  CHECK(to_decimal(hash_of_partition_key("")) == "281949768489412648962353822266799178366");
}

TEST_CASE("hash keys: new streams split the space as AWS does", "[kinesis]") {
  CHECK(even_split_start(0, 1) == 0);
  CHECK(to_decimal(even_split_start(1, 2)) == "170141183460469231731687303715884105728");
  CHECK(to_decimal(even_split_start(1, 3)) == "113427455640312821154458202477256070485");
  CHECK(to_decimal(even_split_start(2, 3)) == "226854911280625642308916404954512140970");
  CHECK(to_decimal(even_split_start(1, 4)) == "85070591730234615865843651857942052864");
  CHECK(to_decimal(even_split_start(3, 4)) == "255211775190703847597530955573826158592");
  for (uint32_t n : {1u, 2u, 3u, 5u, 7u, 64u, 500u}) {
    for (uint32_t i = 1; i < n; ++i) CHECK(even_split_start(i, n) > even_split_start(i - 1, n));
  }
}
