// Scheduler: deferred work and timers on the daemon's event loop, without exposing Asio to
// service headers. Long waits (visibility timeouts, long polls, TTL sweeps) are timers here,
// never sleeping threads. Implementations are thread-safe; tasks run on an io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>

namespace sless {

class Scheduler {
 public:
  using Task = std::function<void()>;
  using TimerId = uint64_t;

  virtual ~Scheduler() = default;
  // Runs `task` soon on an io thread.
  virtual void post(Task task) = 0;
  // Runs `task` once after `delay`. The id stays valid until the task ran or was cancelled.
  virtual TimerId after(std::chrono::milliseconds delay, Task task) = 0;
  // Cancels a pending timer; true when it had not run yet (it then never runs).
  virtual bool cancel(TimerId id) = 0;
};

}  // namespace sless
