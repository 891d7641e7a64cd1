// The gateway: the request chain between the HTTP server and the services.
//
//   request id → CORS → resolve service → account/region → decode aws-chunked → parse
//   → dispatch (Service::invoke) → serialize → request-id headers → access log → respond
//
// Internal endpoints (/_sless/health, /_sless/reset) are answered here. Thread-safe: handle()
// runs on any io thread; the gateway holds no per-request state.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "core/clock.h"
#include "core/config.h"
#include "http/server.h"
#include "services/registry.h"

namespace sless::gateway {

// Answers execute-api requests (the API Gateway data plane, once it exists).
using ExecuteApiHandler = std::function<void(const std::string& api_id, http::Request, http::Handler::Respond)>;

class Gateway final : public http::Handler {
 public:
  Gateway(const Config& config, services::Registry& registry, SystemClock& clock);

  bool wants_stream(const http::Request& header) override;
  void handle(http::Request request, Respond respond) override;
  http::Response reject(int status, std::string_view reason) override;

  void set_execute_api_handler(ExecuteApiHandler h) { execute_api_ = std::move(h); }
  // Called by the daemon once it listens, for /_sless/health.
  void set_started(std::chrono::steady_clock::time_point t) { started_ = t; }

 private:
  void handle_internal(http::Request& request, const std::string& request_id, Respond& respond);
  http::Response health() const;

  const Config& config_;
  services::Registry& registry_;
  SystemClock& clock_;
  ExecuteApiHandler execute_api_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace sless::gateway
