// The daemon: one store, the registry of services, the gateway and the HTTP server, started
// and stopped together. `sless up` runs one; tests may run one in-process. start() and stop()
// are called from one thread; everything else runs on the server's io threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/config.h"
#include "core/status.h"

namespace sless::storage {
class Store;
}
namespace sless::services {
class Registry;
}

namespace sless {

class Daemon {
 public:
  explicit Daemon(Config config);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Opens the store, starts the services, binds and starts serving.
  Status start();
  // Work that start() leaves for after the "ready" line: creating the services' column families
  // on a fresh data dir. Optional (a first write does it too); call it from the thread that
  // started the daemon.
  void settle();
  // Stops accepting, drains requests in flight (up to config.drain_timeout), stops the services
  // and flushes the store. Idempotent.
  void stop();

  uint16_t port() const;
  std::string endpoint() const;          // "http://127.0.0.1:4566"
  const Config& config() const { return config_; }
  services::Registry& registry();
  // What deploying the stack did and where its APIs are served, for `sless up` to print.
  const std::vector<std::string>& stack_notes() const { return stack_notes_; }
  SystemClock& clock() { return clock_; }

 private:
  struct Parts;
  Config config_;
  SystemClock clock_;
  std::unique_ptr<Parts> parts_;
  bool running_ = false;
  std::vector<std::string> stack_notes_;

  Status deploy_stack();
};

}  // namespace sless
