#include <catch2/catch.hpp>

#include <algorithm>

#include "services/s3/common.h"
#include "services/s3/records.h"
#include "storage/keys.h"

using namespace sless::services::s3;

TEST_CASE("object records round-trip with inline bodies and segments", "[s3]") {
  ObjectRecord r;
  r.version_id = make_version_id(42);
  r.size = 3;
  r.etag = "e";
  r.metadata = {{"a", "1"}};
  r.tags = {{"k", "v"}};
  r.inline_body = std::string("a\0b", 3);
  auto back = ObjectRecord::decode(r.encode());
  REQUIRE(back);
  CHECK(back->inline_body == r.inline_body);
  CHECK(back->metadata == r.metadata);
  CHECK(back->tags == r.tags);
  CHECK(back->version_id == r.version_id);
  r.inline_body.clear();
  r.segments = {{"id1", 5}, {"id2", 7}};
  r.parts = {{5, "c1"}, {7, "c2"}};
  back = ObjectRecord::decode(r.encode());
  REQUIRE(back);
  CHECK(back->segments.size() == 2);
  CHECK(back->segments[1].id == "id2");
  CHECK(back->parts[1].checksum == "c2");
  CHECK_FALSE(ObjectRecord::decode("xx").has_value());
}

TEST_CASE("version ids carry their sequence number", "[s3]") {
  std::string id = make_version_id(0x1234);
  CHECK(id.size() == 32);
  CHECK(version_seq(id) == 0x1234u);
  CHECK_FALSE(version_seq("null").has_value());
  CHECK_FALSE(version_seq(std::string(32, 'z')).has_value());
}

TEST_CASE("object keys sort like their names and prefix keys bound them", "[s3]") {
  std::vector<std::string> names = {"a", "a/b", std::string("a\0c", 3), "ab", "b", "a/", "Z"};
  std::vector<std::string> encoded;
  for (const auto& n : names) encoded.push_back(keys::current("bucket", n));
  std::vector<std::string> by_name = names;
  std::sort(by_name.begin(), by_name.end());
  std::sort(encoded.begin(), encoded.end());
  std::string base = keys::bucket_all('O', "bucket");
  for (size_t i = 0; i < names.size(); ++i) {
    std::string k;
    REQUIRE(keys::read_object_key(encoded[i], base.size(), &k));
    CHECK(k == by_name[i]);
  }
  std::string lower = keys::current_prefix("bucket", "a/");
  for (const auto& n : names) {
    bool in = keys::current("bucket", n) >= lower && keys::current("bucket", n) < sless::storage::key::prefix_end(lower);
    CHECK(in == (n.rfind("a/", 0) == 0));
  }
  // Another bucket's keys never fall inside this bucket's range.
  CHECK(keys::current("bucket2", "a") >= sless::storage::key::prefix_end(keys::bucket_all('O', "bucket")));
  uint64_t seq = 0;
  std::string k;
  REQUIRE(keys::read_version_key(keys::version("bucket", "x", 99), keys::bucket_all('V', "bucket").size(), &k, &seq));
  CHECK((k == "x" && seq == 99));
  CHECK(keys::version("bucket", "x", 100) < keys::version("bucket", "x", 99));  // newest first
}
