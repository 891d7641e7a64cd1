// MD5, incremental, with a bulk path that hashes many independent streams at once.
//
// One MD5 stream is a chain of dependent steps and cannot go faster than about 600 MB/s on one
// core. Independent streams can: the SIMD kernels run 8 (AVX2) or 16 (AVX-512) streams' blocks side
// by side in one register's lanes, for about the cost of one. S3 uploads on many connections give
// independent streams: their chunks that arrive together are hashed together (update_many) by the
// io thread. The result is the same as update() on each stream; the kernels are chosen at run time
// from the CPU's instruction sets. Plain code; a State is used by one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sless::md5 {

struct State {
  uint32_t h[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};
  uint64_t length = 0;    // bytes added so far
  unsigned char tail[64];  // the bytes of an incomplete block
  size_t tail_size = 0;
};

void update(State& s, std::string_view data);
// The raw 16-byte digest. The state is spent afterwards.
std::string finish(State& s);

// One stream's share of a batch. A state appears at most once per batch.
struct Job {
  State* state;
  std::string_view data;
};
// update(*jobs[i].state, jobs[i].data) for each i, the streams' whole blocks in SIMD lanes.
void update_many(Job* jobs, size_t count);

// The kernels update_many can use; kAuto picks the widest the CPU has.
enum class Kernel { kAuto, kScalar, kAvx2, kAvx512 };
bool supported(Kernel k);
// update_many with a given kernel (tests and benchmarks compare them); it must be supported().
void update_many(Job* jobs, size_t count, Kernel k);
// The kernel kAuto picks: "avx512" (16 lanes), "avx2" (8 lanes) or "scalar".
const char* kernel_name();

}  // namespace sless::md5
