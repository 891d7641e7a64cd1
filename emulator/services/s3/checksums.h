// S3 object checksums: MD5 (ETag, Content-MD5) and the flexible checksums S3 accepts (CRC32,
// CRC32C, CRC64NVME, SHA1, SHA256), computed incrementally while a body streams in, plus the
// multipart combinations (composite "-N" checksums and full-object CRC combination).
// A Hasher is used by one thread at a time; the free functions are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sless::services::s3 {

enum class ChecksumAlgorithm { kNone, kCrc32, kCrc32c, kCrc64Nvme, kSha1, kSha256 };

// "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256" (case-insensitive); nullopt otherwise.
std::optional<ChecksumAlgorithm> parse_algorithm(std::string_view name);
// The canonical upper-case name ("CRC32"), or "" for kNone.
const char* algorithm_name(ChecksumAlgorithm a);
// The params member that carries it ("ChecksumCRC32") and the header ("x-amz-checksum-crc32").
std::string algorithm_member(ChecksumAlgorithm a);
std::string algorithm_header(ChecksumAlgorithm a);
bool is_crc(ChecksumAlgorithm a);

// Incremental digest of one algorithm. finish() returns the raw digest bytes (big-endian for CRCs).
class Hasher {
 public:
  static std::unique_ptr<Hasher> make(ChecksumAlgorithm a);
  static std::unique_ptr<Hasher> md5();
  virtual ~Hasher() = default;
  virtual void update(std::string_view data) = 0;
  virtual std::string finish() = 0;
};

// Raw digest of a whole buffer.
std::string checksum_of(ChecksumAlgorithm a, std::string_view data);

uint32_t crc32c(std::string_view data, uint32_t crc = 0);
uint64_t crc64nvme(std::string_view data, uint64_t crc = 0);

// The CRC of A||B from crc(A), crc(B) and len(B) (zlib's crc32_combine, for any of the three CRCs).
// `a` and `b` are raw big-endian digests; returns the raw combined digest.
std::string combine_crc(ChecksumAlgorithm a, std::string_view crc_a, std::string_view crc_b, uint64_t len_b);

}  // namespace sless::services::s3
