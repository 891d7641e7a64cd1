// The fuzz targets' common ground. Each target defines one entry point with SLESS_FUZZ_TARGET:
// built for libFuzzer (SLESS_FUZZ_LIBFUZZER) it is LLVMFuzzerTestOneInput; otherwise it is
// sless_fuzz_<name>, so that fuzz_replay links every target into one binary. An entry point
// returns 0 and aborts (FUZZ_CHECK) only when an invariant of the code under test breaks.
// Entry points are called from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#ifdef SLESS_FUZZ_LIBFUZZER
#define SLESS_FUZZ_TARGET(name) extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
#else
#define SLESS_FUZZ_TARGET(name) extern "C" int sless_fuzz_##name(const uint8_t* data, size_t size)
#endif

// An invariant of the code under test; a failure is a finding, so it aborts (libFuzzer saves
// the input as a crash).
#define FUZZ_CHECK(cond)                                                                     \
  do {                                                                                       \
    if (!(cond)) {                                                                           \
      std::fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                          \
    }                                                                                        \
  } while (0)

namespace sless::fuzz {

// Reads structured values off the front of a fuzz input; past the end it yields zeros and empty
// strings, so that every input means something.
class Input {
 public:
  Input(const uint8_t* data, size_t size) : rest_(reinterpret_cast<const char*>(data), size) {}

  uint8_t byte() {
    if (rest_.empty()) return 0;
    auto b = static_cast<uint8_t>(rest_.front());
    rest_.remove_prefix(1);
    return b;
  }
  uint16_t u16() { return static_cast<uint16_t>(byte() | (byte() << 8)); }
  // Up to the next `delim` (consumed) or the end.
  std::string_view until(char delim) {
    auto pos = rest_.find(delim);
    std::string_view out = rest_.substr(0, pos);
    rest_.remove_prefix(pos == std::string_view::npos ? rest_.size() : pos + 1);
    return out;
  }
  std::string_view take(size_t n) {
    std::string_view out = rest_.substr(0, n);
    rest_.remove_prefix(out.size());
    return out;
  }
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }

 private:
  std::string_view rest_;
};

}  // namespace sless::fuzz
