#include "services/s3/checksums.h"

#include <openssl/evp.h>
#include <zlib.h>

#include <array>

#include "core/encoding.h"

namespace sless::services::s3 {
namespace {

constexpr uint32_t kCrc32cPoly = 0x82F63B78u;            // reflected Castagnoli
constexpr uint64_t kCrc64NvmePoly = 0x9A6C9329AC4BC9B5ull;  // reflected NVMe

// Slicing-by-8 tables for a reflected CRC of width W (32 or 64).
template <class T>
std::array<std::array<T, 256>, 8> make_tables(T poly) {
  std::array<std::array<T, 256>, 8> t{};
  for (unsigned i = 0; i < 256; ++i) {
    T c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ poly : c >> 1;
    t[0][i] = c;
  }
  for (unsigned i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
  }
  return t;
}

template <class T>
T crc_sliced(const std::array<std::array<T, 256>, 8>& t, T crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  crc = ~crc;
  while (n >= 8) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    v ^= static_cast<uint64_t>(crc);  // little-endian machine: the low bytes come first
    crc = static_cast<T>(t[7][v & 0xFF] ^ t[6][(v >> 8) & 0xFF] ^ t[5][(v >> 16) & 0xFF] ^ t[4][(v >> 24) & 0xFF] ^
                         t[3][(v >> 32) & 0xFF] ^ t[2][(v >> 40) & 0xFF] ^ t[1][(v >> 48) & 0xFF] ^ t[0][v >> 56]);
    p += 8;
    n -= 8;
  }
  while (n--) crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
  return ~crc;
}

const auto& crc32c_tables() {
  static const auto t = make_tables<uint32_t>(kCrc32cPoly);
  return t;
}
const auto& crc64_tables() {
  static const auto t = make_tables<uint64_t>(kCrc64NvmePoly);
  return t;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) uint32_t crc32c_hw(uint32_t crc, std::string_view data) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  size_t n = data.size();
  uint64_t c = ~crc;
  while (n >= 8) {
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
    p += 8;
    n -= 8;
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return ~c32;
}
bool have_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

// zlib's crc32_combine, generalised to any reflected CRC of width w with init = xorout = ~0.
uint64_t gf2_times(const uint64_t* mat, uint64_t vec) {
  uint64_t sum = 0;
  for (int i = 0; vec; ++i, vec >>= 1) {
    if (vec & 1) sum ^= mat[i];
  }
  return sum;
}
void gf2_square(uint64_t* sq, const uint64_t* mat, int w) {
  for (int n = 0; n < w; ++n) sq[n] = gf2_times(mat, mat[n]);
}
uint64_t crc_combine(uint64_t crc1, uint64_t crc2, uint64_t len2, uint64_t poly, int w) {
  if (len2 == 0) return crc1;
  uint64_t even[64];
  uint64_t odd[64];
  odd[0] = poly;
  uint64_t row = 1;
  for (int n = 1; n < w; ++n) {
    odd[n] = row;
    row <<= 1;
  }
  gf2_square(even, odd, w);
  gf2_square(odd, even, w);
  do {
    gf2_square(even, odd, w);
    if (len2 & 1) crc1 = gf2_times(even, crc1);
    len2 >>= 1;
    if (!len2) break;
    gf2_square(odd, even, w);
    if (len2 & 1) crc1 = gf2_times(odd, crc1);
    len2 >>= 1;
  } while (len2);
  return crc1 ^ crc2;
}

std::string be_bytes(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = bytes - 1; i >= 0; --i) {
    out[static_cast<size_t>(i)] = static_cast<char>(v & 0xFF);
    v >>= 8;
  }
  return out;
}
uint64_t from_be(std::string_view b) {
  uint64_t v = 0;
  for (unsigned char c : b) v = (v << 8) | c;
  return v;
}

class Crc32Hasher final : public Hasher {
 public:
  void update(std::string_view d) override {
    while (!d.empty()) {
      uInt n = d.size() > (1u << 30) ? (1u << 30) : static_cast<uInt>(d.size());
      crc_ = ::crc32(crc_, reinterpret_cast<const Bytef*>(d.data()), n);
      d.remove_prefix(n);
    }
  }
  std::string finish() override { return be_bytes(crc_, 4); }

 private:
  uLong crc_ = ::crc32(0, nullptr, 0);
};

class Crc32cHasher final : public Hasher {
 public:
  void update(std::string_view d) override { crc_ = crc32c(d, crc_); }
  std::string finish() override { return be_bytes(crc_, 4); }

 private:
  uint32_t crc_ = 0;
};

class Crc64Hasher final : public Hasher {
 public:
  void update(std::string_view d) override { crc_ = crc64nvme(d, crc_); }
  std::string finish() override { return be_bytes(crc_, 8); }

 private:
  uint64_t crc_ = 0;
};

class EvpHasher final : public Hasher {
 public:
  explicit EvpHasher(const EVP_MD* md) : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, md, nullptr); }
  ~EvpHasher() override { EVP_MD_CTX_free(ctx_); }
  void update(std::string_view d) override { EVP_DigestUpdate(ctx_, d.data(), d.size()); }
  std::string finish() override {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_, out, &len);
    return std::string(reinterpret_cast<char*>(out), len);
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::optional<ChecksumAlgorithm> parse_algorithm(std::string_view name) {
  std::string n = enc::to_lower(name);
  if (n == "crc32") return ChecksumAlgorithm::kCrc32;
  if (n == "crc32c") return ChecksumAlgorithm::kCrc32c;
  if (n == "crc64nvme") return ChecksumAlgorithm::kCrc64Nvme;
  if (n == "sha1") return ChecksumAlgorithm::kSha1;
  if (n == "sha256") return ChecksumAlgorithm::kSha256;
  return std::nullopt;
}

const char* algorithm_name(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32: return "CRC32";
    case ChecksumAlgorithm::kCrc32c: return "CRC32C";
    case ChecksumAlgorithm::kCrc64Nvme: return "CRC64NVME";
    case ChecksumAlgorithm::kSha1: return "SHA1";
    case ChecksumAlgorithm::kSha256: return "SHA256";
    case ChecksumAlgorithm::kNone: break;
  }
  return "";
}

std::string algorithm_member(ChecksumAlgorithm a) { return std::string("Checksum") + algorithm_name(a); }
std::string algorithm_header(ChecksumAlgorithm a) { return "x-amz-checksum-" + enc::to_lower(algorithm_name(a)); }

bool is_crc(ChecksumAlgorithm a) {
  return a == ChecksumAlgorithm::kCrc32 || a == ChecksumAlgorithm::kCrc32c || a == ChecksumAlgorithm::kCrc64Nvme;
}

std::unique_ptr<Hasher> Hasher::make(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32: return std::make_unique<Crc32Hasher>();
    case ChecksumAlgorithm::kCrc32c: return std::make_unique<Crc32cHasher>();
    case ChecksumAlgorithm::kCrc64Nvme: return std::make_unique<Crc64Hasher>();
    case ChecksumAlgorithm::kSha1: return std::make_unique<EvpHasher>(EVP_sha1());
    case ChecksumAlgorithm::kSha256: return std::make_unique<EvpHasher>(EVP_sha256());
    case ChecksumAlgorithm::kNone: break;
  }
  return nullptr;
}

std::unique_ptr<Hasher> Hasher::md5() { return std::make_unique<EvpHasher>(EVP_md5()); }

std::string checksum_of(ChecksumAlgorithm a, std::string_view data) {
  auto h = Hasher::make(a);
  if (!h) return {};
  h->update(data);
  return h->finish();
}

uint32_t crc32c(std::string_view data, uint32_t crc) {
#if defined(__x86_64__)
  if (have_sse42()) return crc32c_hw(crc, data);
#endif
  return crc_sliced<uint32_t>(crc32c_tables(), crc, data);
}

uint64_t crc64nvme(std::string_view data, uint64_t crc) { return crc_sliced<uint64_t>(crc64_tables(), crc, data); }

std::string combine_crc(ChecksumAlgorithm a, std::string_view crc_a, std::string_view crc_b, uint64_t len_b) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32:
      return be_bytes(crc_combine(from_be(crc_a), from_be(crc_b), len_b, 0xEDB88320u, 32), 4);
    case ChecksumAlgorithm::kCrc32c:
      return be_bytes(crc_combine(from_be(crc_a), from_be(crc_b), len_b, kCrc32cPoly, 32), 4);
    case ChecksumAlgorithm::kCrc64Nvme:
      return be_bytes(crc_combine(from_be(crc_a), from_be(crc_b), len_b, kCrc64NvmePoly, 64), 8);
    default:
      return {};
  }
}

}  // namespace sless::services::s3
