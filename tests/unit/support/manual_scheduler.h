// A Scheduler for unit tests: tasks and timers run only when the test says so. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <vector>

#include "core/scheduler.h"

namespace sless::testing {

class ManualScheduler final : public sless::Scheduler {
 public:
  void post(Task task) override {
    std::lock_guard lock(mu_);
    posted_.push_back(std::move(task));
  }
  TimerId after(std::chrono::milliseconds, Task task) override {
    std::lock_guard lock(mu_);
    timers_.emplace(++next_, std::move(task));
    return next_;
  }
  bool cancel(TimerId id) override {
    std::lock_guard lock(mu_);
    return timers_.erase(id) > 0;
  }
  // Runs the tasks posted so far (group commits), not the timers.
  void run_posted() {
    std::vector<Task> now;
    {
      std::lock_guard lock(mu_);
      now.swap(posted_);
    }
    for (auto& task : now) task();
  }
  // Runs every task and timer pending now (not the ones they schedule).
  void run_pending() {
    run_posted();
    std::map<TimerId, Task> now;
    {
      std::lock_guard lock(mu_);
      now.swap(timers_);
    }
    for (auto& [id, task] : now) task();
  }

 private:
  std::mutex mu_;
  TimerId next_ = 0;
  std::vector<Task> posted_;
  std::map<TimerId, Task> timers_;
};

}  // namespace sless::testing
