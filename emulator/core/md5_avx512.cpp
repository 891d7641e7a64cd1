// MD5 on 16 lanes with AVX-512F (built with -mavx512f; called only where the CPU has it). Each
// 32-bit lane of a register holds one stream's word; the round functions are one vpternlogd each
// and the rotations one vprold.
#include <immintrin.h>

#include "core/md5_kernels.h"

namespace sless::md5::detail {

void compress16_avx512(uint32_t* a_out, uint32_t* b_out, uint32_t* c_out, uint32_t* d_out,
                       const unsigned char* const* ptr, const uint64_t* stride, size_t blocks) {
  __m512i a = _mm512_loadu_si512(a_out);
  __m512i b = _mm512_loadu_si512(b_out);
  __m512i c = _mm512_loadu_si512(c_out);
  __m512i d = _mm512_loadu_si512(d_out);
  // Lanes 0-7 and 8-15 address their blocks with 64-bit pointers (the gathers take absolute
  // addresses as indices over a null base).
  __m512i lo = _mm512_loadu_si512(ptr);
  __m512i hi = _mm512_loadu_si512(ptr + 8);
  const __m512i step_lo = _mm512_loadu_si512(stride);
  const __m512i step_hi = _mm512_loadu_si512(stride + 8);
  for (size_t n = 0; n < blocks; ++n) {
    __m512i m[16];
    for (int w = 0; w < 16; ++w) {
      const __m512i off = _mm512_set1_epi64(4 * w);
      __m256i l = _mm512_i64gather_epi32(_mm512_add_epi64(lo, off), nullptr, 1);
      __m256i h = _mm512_i64gather_epi32(_mm512_add_epi64(hi, off), nullptr, 1);
      m[w] = _mm512_inserti64x4(_mm512_castsi256_si512(l), h, 1);
    }
    const __m512i a0 = a, b0 = b, c0 = c, d0 = d;
#define F(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0xca)
#define G(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0xe4)
#define H(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0x96)
#define I(x, y, z) _mm512_ternarylogic_epi32(x, y, z, 0x39)
#define STEP(f, a, b, c, d, g, s, i)                                                               \
  {                                                                                                \
    __m512i t = _mm512_add_epi32(_mm512_add_epi32(a, f(b, c, d)),                                  \
                                 _mm512_add_epi32(m[g], _mm512_set1_epi32(static_cast<int>(kK[i])))); \
    a = _mm512_add_epi32(b, _mm512_rol_epi32(t, s));                                               \
  }
    SLESS_MD5_STEPS(STEP)
    a = _mm512_add_epi32(a, a0);
    b = _mm512_add_epi32(b, b0);
    c = _mm512_add_epi32(c, c0);
    d = _mm512_add_epi32(d, d0);
    lo = _mm512_add_epi64(lo, step_lo);
    hi = _mm512_add_epi64(hi, step_hi);
  }
  _mm512_storeu_si512(a_out, a);
  _mm512_storeu_si512(b_out, b);
  _mm512_storeu_si512(c_out, c);
  _mm512_storeu_si512(d_out, d);
}

}  // namespace sless::md5::detail
