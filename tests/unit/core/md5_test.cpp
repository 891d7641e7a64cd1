// MD5 against OpenSSL's: one stream fed in pieces, and batches of streams through every kernel the
// CPU has, with lengths around the block and padding edges and runs of unequal length.
#include <catch2/catch.hpp>

#include <openssl/evp.h>

#include <random>
#include <string>
#include <vector>

#include "core/md5.h"

using namespace sless;

namespace {

std::string openssl_md5(std::string_view data) {
  unsigned char out[16];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), out, &len, EVP_md5(), nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string hex(const std::string& raw) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

std::string random_bytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

}  // namespace

TEST_CASE("md5: the RFC 1321 test suite", "[core][md5]") {
  auto digest = [](std::string_view s) {
    md5::State st;
    md5::update(st, s);
    return hex(md5::finish(st));
  };
  CHECK(digest("") == "d41d8cd98f00b204e9800998ecf8427e");
  CHECK(digest("a") == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(digest("abc") == "900150983cd24fb0d6963f7d28e17f72");
  CHECK(digest("message digest") == "f96b697d7cb7938d525a2f31aaf161d0");
  CHECK(digest("abcdefghijklmnopqrstuvwxyz") == "c3fcd3d76192e4007dfb496cca67e13b");
  CHECK(digest("12345678901234567890123456789012345678901234567890123456789012345678901234567890") ==
        "57edf4a22be3c955ac49da2e2107b67a");
}

TEST_CASE("md5: any split of the input gives the one-piece digest", "[core][md5]") {
  std::mt19937 rng(7);
  for (size_t n : {0, 1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 4096, 70001}) {
    std::string data = random_bytes(rng, n);
    md5::State st;
    size_t at = 0;
    while (at < n) {
      size_t piece = std::min<size_t>(n - at, rng() % 150);
      md5::update(st, std::string_view(data).substr(at, piece));
      at += piece;
    }
    CHECK(hex(md5::finish(st)) == hex(openssl_md5(data)));
  }
}

TEST_CASE("md5: batches of streams through each kernel match OpenSSL", "[core][md5]") {
  std::vector<md5::Kernel> kernels = {md5::Kernel::kScalar};
  if (md5::supported(md5::Kernel::kAvx2)) kernels.push_back(md5::Kernel::kAvx2);
  if (md5::supported(md5::Kernel::kAvx512)) kernels.push_back(md5::Kernel::kAvx512);
  INFO("automatic choice: " << md5::kernel_name());
  std::mt19937 rng(11);
  for (auto kernel : kernels) {
    INFO("kernel " << static_cast<int>(kernel));
    // 1 to 40 streams (fewer and more than the lanes), several rounds of chunks each, chunk sizes
    // from empty to a few blocks past a thousand, so tails carry over between rounds and runs end
    // at different blocks; some streams sit out some rounds.
    for (size_t streams : {1, 2, 3, 7, 8, 9, 16, 17, 40}) {
      std::vector<md5::State> states(streams);
      std::vector<std::string> whole(streams);
      for (int round = 0; round < 6; ++round) {
        std::vector<std::string> chunks(streams);
        std::vector<md5::Job> jobs;
        for (size_t i = 0; i < streams; ++i) {
          if (rng() % 5 == 0) continue;
          size_t n = rng() % 4 == 0 ? rng() % 70 : rng() % 5000;
          chunks[i] = random_bytes(rng, n);
          whole[i] += chunks[i];
          jobs.push_back({&states[i], chunks[i]});
        }
        md5::update_many(jobs.data(), jobs.size(), kernel);
      }
      for (size_t i = 0; i < streams; ++i) {
        CHECK(states[i].length == whole[i].size());
        CHECK(hex(md5::finish(states[i])) == hex(openssl_md5(whole[i])));
      }
    }
  }
}

TEST_CASE("md5: equal runs in every lane, and one long run among short ones", "[core][md5]") {
  std::mt19937 rng(3);
  for (size_t streams : {16, 17, 32}) {
    std::vector<md5::State> states(streams);
    std::vector<std::string> data(streams);
    std::vector<md5::Job> jobs;
    for (size_t i = 0; i < streams; ++i) {
      data[i] = random_bytes(rng, i == 0 ? 256 * 1024 : 64 * 1024);
      jobs.push_back({&states[i], data[i]});
    }
    md5::update_many(jobs.data(), jobs.size());
    for (size_t i = 0; i < streams; ++i) CHECK(hex(md5::finish(states[i])) == hex(openssl_md5(data[i])));
  }
}
