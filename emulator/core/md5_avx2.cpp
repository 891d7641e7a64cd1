// MD5 on 8 lanes with AVX2 (built with -mavx2; called only where the CPU has it): each 32-bit lane
// of a register holds one stream's word. AVX2 has no rotate or three-input logic, so a rotation is
// two shifts and an or, and the round functions are written in their two-operation forms.
#include <immintrin.h>

#include "core/md5_kernels.h"

namespace sless::md5::detail {

void compress8_avx2(uint32_t* a_out, uint32_t* b_out, uint32_t* c_out, uint32_t* d_out,
                    const unsigned char* const* ptr, const uint64_t* stride, size_t blocks) {
  __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a_out));
  __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b_out));
  __m256i c = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c_out));
  __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(d_out));
  __m256i lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ptr));
  __m256i hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(ptr + 4));
  const __m256i step_lo = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(stride));
  const __m256i step_hi = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(stride + 4));
  const __m256i ones = _mm256_set1_epi32(-1);
  for (size_t n = 0; n < blocks; ++n) {
    __m256i m[16];
    for (int w = 0; w < 16; ++w) {
      const __m256i off = _mm256_set1_epi64x(4 * w);
      __m128i l = _mm256_i64gather_epi32(static_cast<const int*>(nullptr), _mm256_add_epi64(lo, off), 1);
      __m128i h = _mm256_i64gather_epi32(static_cast<const int*>(nullptr), _mm256_add_epi64(hi, off), 1);
      m[w] = _mm256_inserti128_si256(_mm256_castsi128_si256(l), h, 1);
    }
    const __m256i a0 = a, b0 = b, c0 = c, d0 = d;
#define F(x, y, z) _mm256_xor_si256(z, _mm256_and_si256(x, _mm256_xor_si256(y, z)))
#define G(x, y, z) _mm256_xor_si256(y, _mm256_and_si256(z, _mm256_xor_si256(x, y)))
#define H(x, y, z) _mm256_xor_si256(_mm256_xor_si256(x, y), z)
#define I(x, y, z) _mm256_xor_si256(y, _mm256_or_si256(x, _mm256_xor_si256(z, ones)))
#define STEP(f, a, b, c, d, g, s, i)                                                                           \
  {                                                                                                            \
    __m256i t = _mm256_add_epi32(_mm256_add_epi32(a, f(b, c, d)),                                              \
                                 _mm256_add_epi32(m[g], _mm256_set1_epi32(static_cast<int>(kK[i]))));          \
    a = _mm256_add_epi32(b, _mm256_or_si256(_mm256_slli_epi32(t, s), _mm256_srli_epi32(t, 32 - (s))));          \
  }
    SLESS_MD5_STEPS(STEP)
    a = _mm256_add_epi32(a, a0);
    b = _mm256_add_epi32(b, b0);
    c = _mm256_add_epi32(c, c0);
    d = _mm256_add_epi32(d, d0);
    lo = _mm256_add_epi64(lo, step_lo);
    hi = _mm256_add_epi64(hi, step_hi);
  }
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(a_out), a);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(b_out), b);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(c_out), c);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(d_out), d);
}

}  // namespace sless::md5::detail
