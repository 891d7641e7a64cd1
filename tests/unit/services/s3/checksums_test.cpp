#include <catch2/catch.hpp>

#include "core/encoding.h"
#include "services/s3/checksums.h"

using namespace sless::services::s3;
using sless::enc::hex_encode;

TEST_CASE("checksums match the standard check values", "[s3]") {
  const std::string check = "123456789";
  CHECK(hex_encode(checksum_of(ChecksumAlgorithm::kCrc32, check)) == "cbf43926");
  CHECK(hex_encode(checksum_of(ChecksumAlgorithm::kCrc32c, check)) == "e3069283");
  CHECK(hex_encode(checksum_of(ChecksumAlgorithm::kCrc64Nvme, check)) == "ae8b14860a799888");
  CHECK(hex_encode(checksum_of(ChecksumAlgorithm::kSha1, "abc")) == "a9993e364706816aba3e25717850c26c9cd0d89d");
  CHECK(hex_encode(checksum_of(ChecksumAlgorithm::kSha256, "")) ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("incremental hashing equals one-shot hashing at every split", "[s3]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data.push_back(static_cast<char>(i * 7 + 3));
  for (auto a : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme,
                 ChecksumAlgorithm::kSha256}) {
    for (size_t split : {size_t{0}, size_t{1}, size_t{7}, size_t{8}, size_t{513}, data.size()}) {
      auto h = Hasher::make(a);
      h->update(std::string_view(data).substr(0, split));
      h->update(std::string_view(data).substr(split));
      CHECK(h->finish() == checksum_of(a, data));
    }
  }
}

TEST_CASE("CRC combination gives the CRC of the concatenation", "[s3]") {
  std::string a = "the first part of an object, ";
  std::string b = "and the second part, somewhat longer than the first one";
  for (auto alg : {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c, ChecksumAlgorithm::kCrc64Nvme}) {
    CHECK(combine_crc(alg, checksum_of(alg, a), checksum_of(alg, b), b.size()) == checksum_of(alg, a + b));
    CHECK(combine_crc(alg, checksum_of(alg, a), checksum_of(alg, ""), 0) == checksum_of(alg, a));
  }
}

TEST_CASE("algorithm names parse case-insensitively and map to members and headers", "[s3]") {
  CHECK(parse_algorithm("crc32c") == ChecksumAlgorithm::kCrc32c);
  CHECK(parse_algorithm("CRC64NVME") == ChecksumAlgorithm::kCrc64Nvme);
  CHECK_FALSE(parse_algorithm("md4").has_value());
  CHECK(algorithm_member(ChecksumAlgorithm::kSha256) == "ChecksumSHA256");
  CHECK(algorithm_header(ChecksumAlgorithm::kCrc32) == "x-amz-checksum-crc32");
}
