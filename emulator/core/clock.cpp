#include "core/clock.h"

#include <chrono>

namespace sless {

int64_t SystemClock::now_ms() const {
  auto now = std::chrono::system_clock::now().time_since_epoch();
  return std::chrono::duration_cast<std::chrono::milliseconds>(now).count() +
         offset_ms_.load(std::memory_order_relaxed);
}

}  // namespace sless
