// Clock: wall-clock time for timestamps and expiries. Services read time only through a Clock
// so that unit tests can use ManualClock. Both implementations are thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

namespace sless {

class Clock {
 public:
  virtual ~Clock() = default;
  // Milliseconds since the Unix epoch.
  virtual int64_t now_ms() const = 0;
  double now_seconds() const { return static_cast<double>(now_ms()) / 1000.0; }
};

// The real clock, shifted by an adjustable offset (0 unless a test moves it).
class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  void advance_ms(int64_t delta) { offset_ms_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> offset_ms_{0};
};

// A clock that moves only when told to.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 1700000000000) : now_(start_ms) {}
  int64_t now_ms() const override { return now_.load(std::memory_order_relaxed); }
  void set_ms(int64_t ms) { now_.store(ms, std::memory_order_relaxed); }
  void advance_ms(int64_t delta) { now_.fetch_add(delta, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_;
};

}  // namespace sless
