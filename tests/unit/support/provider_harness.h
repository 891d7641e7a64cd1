// One service provider started on its own store, for unit tests: in memory, or on a directory that
// reopen() starts again (a restart). Timers and posted tasks run only when the test says so.
// Not shared between threads.
#pragma once

#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "services/service.h"
#include "storage/store.h"
#include "unit/support/manual_scheduler.h"

namespace sless::testing {

template <class Provider>
class ProviderHarness {
 public:
  explicit ProviderHarness(std::string dir = {}) : dir_(std::move(dir)) { open(); }
  ~ProviderHarness() { close(); }

  void open() {
    storage::Options options;
    options.in_memory = dir_.empty();
    options.dir = dir_;
    auto store = storage::Store::open(options);
    REQUIRE(store.ok());
    store_ = std::move(store).value();
    provider_ = std::make_unique<Provider>();
    env_.store = store_.get();
    env_.scheduler = &scheduler_;
    env_.clock = &clock_;
    env_.config = &config_;
    REQUIRE(provider_->start(env_).is_ok());
  }
  void close() {
    if (provider_) provider_->stop();
    provider_.reset();
    store_.reset();
  }
  void reopen() {
    close();
    open();
  }

  Provider& provider() { return *provider_; }
  ManualClock& clock() { return clock_; }
  ManualScheduler& scheduler() { return scheduler_; }

 protected:
  std::string dir_;
  ManualClock clock_;
  ManualScheduler scheduler_;
  Config config_;
  services::Env env_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<Provider> provider_;
};

}  // namespace sless::testing
