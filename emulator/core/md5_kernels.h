// The MD5 compression function's parts shared by core/md5.cpp and its SIMD kernels
// (md5_avx2.cpp, md5_avx512.cpp). Those files are built with extra instruction sets, so this header
// holds only data and declarations: no inline code that another file could end up sharing.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sless::md5::detail {

// The 64 additive constants (RFC 1321, 3.4: the integer part of 2^32 * |sin(i + 1)|).
alignas(64) inline constexpr uint32_t kK[64] = {
    0xd76aa478u, 0xe8c7b756u, 0x242070dbu, 0xc1bdceeeu, 0xf57c0fafu, 0x4787c62au, 0xa8304613u, 0xfd469501u,
    0x698098d8u, 0x8b44f7afu, 0xffff5bb1u, 0x895cd7beu, 0x6b901122u, 0xfd987193u, 0xa679438eu, 0x49b40821u,
    0xf61e2562u, 0xc040b340u, 0x265e5a51u, 0xe9b6c7aau, 0xd62f105du, 0x02441453u, 0xd8a1e681u, 0xe7d3fbc8u,
    0x21e1cde6u, 0xc33707d6u, 0xf4d50d87u, 0x455a14edu, 0xa9e3e905u, 0xfcefa3f8u, 0x676f02d9u, 0x8d2a4c8au,
    0xfffa3942u, 0x8771f681u, 0x6d9d6122u, 0xfde5380cu, 0xa4beea44u, 0x4bdecfa9u, 0xf6bb4b60u, 0xbebfbc70u,
    0x289b7ec6u, 0xeaa127fau, 0xd4ef3085u, 0x04881d05u, 0xd9d4d039u, 0xe6db99e5u, 0x1fa27cf8u, 0xc4ac5665u,
    0xf4292244u, 0x432aff97u, 0xab9423a7u, 0xfc93a039u, 0x655b59c3u, 0x8f0ccc92u, 0xffeff47du, 0x85845dd1u,
    0x6fa87e4fu, 0xfe2ce6e0u, 0xa3014314u, 0x4e0811a1u, 0xf7537e82u, 0xbd3af235u, 0x2ad7d2bbu, 0xeb86d391u};

// The 64 steps in order: STEP(round function, a, b, c, d, message word, left rotation, step), the
// registers named as they rotate through the four-step cycle.
#define SLESS_MD5_STEPS(STEP) \
  STEP(F, a, b, c, d, 0, 7, 0) STEP(F, d, a, b, c, 1, 12, 1) STEP(F, c, d, a, b, 2, 17, 2) STEP(F, b, c, d, a, 3, 22, 3) \
  STEP(F, a, b, c, d, 4, 7, 4) STEP(F, d, a, b, c, 5, 12, 5) STEP(F, c, d, a, b, 6, 17, 6) STEP(F, b, c, d, a, 7, 22, 7) \
  STEP(F, a, b, c, d, 8, 7, 8) STEP(F, d, a, b, c, 9, 12, 9) STEP(F, c, d, a, b, 10, 17, 10) STEP(F, b, c, d, a, 11, 22, 11) \
  STEP(F, a, b, c, d, 12, 7, 12) STEP(F, d, a, b, c, 13, 12, 13) STEP(F, c, d, a, b, 14, 17, 14) STEP(F, b, c, d, a, 15, 22, 15) \
  STEP(G, a, b, c, d, 1, 5, 16) STEP(G, d, a, b, c, 6, 9, 17) STEP(G, c, d, a, b, 11, 14, 18) STEP(G, b, c, d, a, 0, 20, 19) \
  STEP(G, a, b, c, d, 5, 5, 20) STEP(G, d, a, b, c, 10, 9, 21) STEP(G, c, d, a, b, 15, 14, 22) STEP(G, b, c, d, a, 4, 20, 23) \
  STEP(G, a, b, c, d, 9, 5, 24) STEP(G, d, a, b, c, 14, 9, 25) STEP(G, c, d, a, b, 3, 14, 26) STEP(G, b, c, d, a, 8, 20, 27) \
  STEP(G, a, b, c, d, 13, 5, 28) STEP(G, d, a, b, c, 2, 9, 29) STEP(G, c, d, a, b, 7, 14, 30) STEP(G, b, c, d, a, 12, 20, 31) \
  STEP(H, a, b, c, d, 5, 4, 32) STEP(H, d, a, b, c, 8, 11, 33) STEP(H, c, d, a, b, 11, 16, 34) STEP(H, b, c, d, a, 14, 23, 35) \
  STEP(H, a, b, c, d, 1, 4, 36) STEP(H, d, a, b, c, 4, 11, 37) STEP(H, c, d, a, b, 7, 16, 38) STEP(H, b, c, d, a, 10, 23, 39) \
  STEP(H, a, b, c, d, 13, 4, 40) STEP(H, d, a, b, c, 0, 11, 41) STEP(H, c, d, a, b, 3, 16, 42) STEP(H, b, c, d, a, 6, 23, 43) \
  STEP(H, a, b, c, d, 9, 4, 44) STEP(H, d, a, b, c, 12, 11, 45) STEP(H, c, d, a, b, 15, 16, 46) STEP(H, b, c, d, a, 2, 23, 47) \
  STEP(I, a, b, c, d, 0, 6, 48) STEP(I, d, a, b, c, 7, 10, 49) STEP(I, c, d, a, b, 14, 15, 50) STEP(I, b, c, d, a, 5, 21, 51) \
  STEP(I, a, b, c, d, 12, 6, 52) STEP(I, d, a, b, c, 3, 10, 53) STEP(I, c, d, a, b, 10, 15, 54) STEP(I, b, c, d, a, 1, 21, 55) \
  STEP(I, a, b, c, d, 8, 6, 56) STEP(I, d, a, b, c, 15, 10, 57) STEP(I, c, d, a, b, 6, 15, 58) STEP(I, b, c, d, a, 13, 21, 59) \
  STEP(I, a, b, c, d, 4, 6, 60) STEP(I, d, a, b, c, 11, 10, 61) STEP(I, c, d, a, b, 2, 15, 62) STEP(I, b, c, d, a, 9, 21, 63)

// Several lanes at once: runs `blocks` compressions in each lane. Lane j's 64-byte blocks start at
// ptr[j] and follow each other `stride[j]` bytes apart (0 repeats one block: an idle lane); its
// state is (a[j], b[j], c[j], d[j]), read and updated in place. Called only when the CPU has the
// instruction set (md5.cpp checks).
void compress8_avx2(uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d, const unsigned char* const* ptr,
                    const uint64_t* stride, size_t blocks);
void compress16_avx512(uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d, const unsigned char* const* ptr,
                       const uint64_t* stride, size_t blocks);

}  // namespace sless::md5::detail
