#include "core/md5.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/md5_kernels.h"

namespace sless::md5 {

namespace {

using detail::kK;

inline uint32_t rotl(uint32_t x, int s) { return (x << s) | (x >> (32 - s)); }

inline uint32_t load_le(const unsigned char* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 | static_cast<uint32_t>(p[2]) << 16 |
         static_cast<uint32_t>(p[3]) << 24;
}

// The round functions, in the forms with one operation less than RFC 1321's.
#define F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))
#define H(x, y, z) ((x) ^ (y) ^ (z))
#define I(x, y, z) ((y) ^ ((x) | ~(z)))

// The compression function over `blocks` consecutive 64-byte blocks, one stream.
void compress(uint32_t h[4], const unsigned char* p, size_t blocks) {
  for (; blocks > 0; --blocks, p += 64) {
    uint32_t m[16];
    for (int w = 0; w < 16; ++w) m[w] = load_le(p + 4 * w);
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3];
#define STEP(f, a, b, c, d, g, s, i) a = b + rotl(a + f(b, c, d) + m[g] + kK[i], s);
    SLESS_MD5_STEPS(STEP)
#undef STEP
    h[0] += a;
    h[1] += b;
    h[2] += c;
    h[3] += d;
  }
}

// Two streams' blocks side by side in plain registers: their chains of dependent steps
// interleave, so the core runs them in little more than the time of one (0.9 GB/s against 0.5 here).
void compress2(uint32_t h1[4], const unsigned char* p1, uint32_t h2[4], const unsigned char* p2, size_t blocks) {
  for (; blocks > 0; --blocks, p1 += 64, p2 += 64) {
    uint32_t m[16], n[16];
    for (int w = 0; w < 16; ++w) {
      m[w] = load_le(p1 + 4 * w);
      n[w] = load_le(p2 + 4 * w);
    }
    uint32_t a = h1[0], b = h1[1], c = h1[2], d = h1[3];
    uint32_t e = h2[0], f = h2[1], g = h2[2], k = h2[3];
    // The second stream's registers e, f, g, k follow a, b, c, d through the same rotation.
#define E_OF_a e
#define E_OF_b f
#define E_OF_c g
#define E_OF_d k
#define STEP(fn, a, b, c, d, w, s, i)                               \
  a = b + rotl(a + fn(b, c, d) + m[w] + kK[i], s);                  \
  E_OF_##a = E_OF_##b + rotl(E_OF_##a + fn(E_OF_##b, E_OF_##c, E_OF_##d) + n[w] + kK[i], s);
    SLESS_MD5_STEPS(STEP)
#undef STEP
#undef E_OF_a
#undef E_OF_b
#undef E_OF_c
#undef E_OF_d
    h1[0] += a;
    h1[1] += b;
    h1[2] += c;
    h1[3] += d;
    h2[0] += e;
    h2[1] += f;
    h2[2] += g;
    h2[3] += k;
  }
}

#undef F
#undef G
#undef H
#undef I

// The runs' blocks, two at a time (compress2) while two remain.
template <class Runs>
void compress_pairs(Runs& runs) {
  size_t i = 0;
  for (; i + 1 < runs.size(); i += 2) {
    auto& x = runs[i];
    auto& y = runs[i + 1];
    size_t both = std::min(x.blocks, y.blocks);
    compress2(x.h, x.p, y.h, y.p, both);
    compress(x.h, x.p + 64 * both, x.blocks - both);
    compress(y.h, y.p + 64 * both, y.blocks - both);
  }
  if (i < runs.size()) compress(runs[i].h, runs[i].p, runs[i].blocks);
}

// Completes a partial block from `data`; returns the bytes taken.
size_t top_up_tail(State& s, std::string_view data) {
  if (s.tail_size == 0) return 0;
  size_t take = std::min(data.size(), 64 - s.tail_size);
  std::memcpy(s.tail + s.tail_size, data.data(), take);
  s.tail_size += take;
  if (s.tail_size == 64) {
    compress(s.h, s.tail, 1);
    s.tail_size = 0;
  }
  return take;
}

void keep_tail(State& s, std::string_view rest) {
  std::memcpy(s.tail, rest.data(), rest.size());
  s.tail_size = rest.size();
}

bool cpu_has(Kernel k) {
  switch (k) {
    case Kernel::kAvx512: return __builtin_cpu_supports("avx512f");
    case Kernel::kAvx2: return __builtin_cpu_supports("avx2");
    default: return true;
  }
}

Kernel best_kernel() {
  static const Kernel best = cpu_has(Kernel::kAvx512) ? Kernel::kAvx512
                             : cpu_has(Kernel::kAvx2) ? Kernel::kAvx2
                                                      : Kernel::kScalar;
  return best;
}

// A stream's run of whole blocks for the lanes.
struct Run {
  uint32_t* h;
  const unsigned char* p;
  size_t blocks;
};

alignas(64) const unsigned char kIdleBlock[64] = {};

// Runs every run through `width` lanes: the longest runs first, a lane taking the next run as
// soon as its own ends; each kernel call goes as far as the shortest run in the lanes. A kernel
// call costs the same whatever the lanes in use (AVX-512 here: 16 lanes 4.1 GB/s, 2 lanes 0.55),
// so the last two runs left finish on the plain path, side by side (compress2, 0.9 GB/s).
template <size_t width, class KernelFn>
void run_lanes(std::vector<Run>& runs, KernelFn kernel) {
  std::sort(runs.begin(), runs.end(), [](const Run& x, const Run& y) { return x.blocks > y.blocks; });
  alignas(64) uint32_t a[width], b[width], c[width], d[width];
  alignas(64) const unsigned char* ptr[width];
  alignas(64) uint64_t stride[width];
  Run* lane[width] = {};
  size_t next = 0;
  for (;;) {
    size_t active = 0;
    for (size_t j = 0; j < width; ++j) {
      if (!lane[j] && next < runs.size()) {
        lane[j] = &runs[next++];
        a[j] = lane[j]->h[0];
        b[j] = lane[j]->h[1];
        c[j] = lane[j]->h[2];
        d[j] = lane[j]->h[3];
      }
      if (lane[j]) ++active;
    }
    if (active == 0) return;
    if (active <= 2 && next == runs.size()) {
      std::vector<Run> rest;
      for (size_t j = 0; j < width; ++j) {
        if (!lane[j]) continue;
        lane[j]->h[0] = a[j];
        lane[j]->h[1] = b[j];
        lane[j]->h[2] = c[j];
        lane[j]->h[3] = d[j];
        rest.push_back(*lane[j]);
      }
      compress_pairs(rest);
      return;
    }
    size_t n = SIZE_MAX;
    for (size_t j = 0; j < width; ++j) {
      if (lane[j]) {
        n = std::min(n, lane[j]->blocks);
        ptr[j] = lane[j]->p;
        stride[j] = 64;
      } else {
        ptr[j] = kIdleBlock;
        stride[j] = 0;
      }
    }
    kernel(a, b, c, d, ptr, stride, n);
    for (size_t j = 0; j < width; ++j) {
      if (!lane[j]) continue;
      lane[j]->p += 64 * n;
      lane[j]->blocks -= n;
      if (lane[j]->blocks == 0) {
        lane[j]->h[0] = a[j];
        lane[j]->h[1] = b[j];
        lane[j]->h[2] = c[j];
        lane[j]->h[3] = d[j];
        lane[j] = nullptr;
      }
    }
  }
}

}  // namespace

void update(State& s, std::string_view data) {
  s.length += data.size();
  data.remove_prefix(top_up_tail(s, data));
  if (data.empty()) return;
  size_t blocks = data.size() / 64;
  compress(s.h, reinterpret_cast<const unsigned char*>(data.data()), blocks);
  keep_tail(s, data.substr(blocks * 64));
}

std::string finish(State& s) {
  uint64_t bits = s.length * 8;
  unsigned char pad[72] = {0x80};
  size_t pad_len = (s.tail_size < 56 ? 56 : 120) - s.tail_size;
  for (int i = 0; i < 8; ++i) pad[pad_len + i] = static_cast<unsigned char>(bits >> (8 * i));
  uint64_t length = s.length;
  update(s, std::string_view(reinterpret_cast<const char*>(pad), pad_len + 8));
  s.length = length;
  std::string out(16, '\0');
  for (int i = 0; i < 4; ++i) {
    for (int k = 0; k < 4; ++k) out[4 * i + k] = static_cast<char>(s.h[i] >> (8 * k));
  }
  return out;
}

bool supported(Kernel k) { return cpu_has(k); }

const char* kernel_name() {
  switch (best_kernel()) {
    case Kernel::kAvx512: return "avx512";
    case Kernel::kAvx2: return "avx2";
    default: return "scalar";
  }
}

void update_many(Job* jobs, size_t count) { update_many(jobs, count, Kernel::kAuto); }

void update_many(Job* jobs, size_t count, Kernel k) {
  if (k == Kernel::kAuto) k = best_kernel();
  std::vector<Run> runs;
  runs.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    State& s = *jobs[i].state;
    std::string_view data = jobs[i].data;
    s.length += data.size();
    data.remove_prefix(top_up_tail(s, data));
    size_t blocks = data.size() / 64;
    if (blocks > 0) runs.push_back({s.h, reinterpret_cast<const unsigned char*>(data.data()), blocks});
    if (!data.empty()) keep_tail(s, data.substr(blocks * 64));
  }
  if (runs.size() <= 2 || k == Kernel::kScalar) {
    compress_pairs(runs);
    return;
  }
  if (k == Kernel::kAvx512) {
    run_lanes<16>(runs, detail::compress16_avx512);
  } else {
    run_lanes<8>(runs, detail::compress8_avx2);
  }
}

}  // namespace sless::md5
