// The service interface: what the gateway calls once a request is parsed, and what every
// service folder implements (see README.md beside this file). A Service is created by the
// registry, started once, and then invoked concurrently from the io threads: implementations
// lock per resource, never globally.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "core/status.h"
#include "protocol/codec.h"

namespace boost::asio {
class io_context;
}

namespace sless {
class Clock;
class Scheduler;
struct Config;
namespace storage {
class Store;
}
}  // namespace sless

namespace sless::services {

class Registry;

// What the daemon lends every service. The pointers outlive the service.
struct Env {
  storage::Store* store = nullptr;
  Scheduler* scheduler = nullptr;
  Clock* clock = nullptr;
  const Config* config = nullptr;
  Registry* registry = nullptr;
  std::vector<boost::asio::io_context*> io_threads;  // every io thread's context, for sockets of services
  std::function<bool()> lone_client;  // the HTTP server's (http::Server::lone_client), when there is one
  std::string files_dir;  // where a service may keep files (S3 bodies); empty in memory mode
};

struct RequestContext {
  std::string request_id;
  std::string account;      // 12 digits
  std::string region;
  std::string service;      // model name ("sqs", "sqs-query", ...)
  std::string operation;
  std::string endpoint;     // "http://<host>" as the client addressed us, for URLs we hand out
  int64_t now_ms = 0;       // when the request arrived
};

using Done = std::function<void(Outcome<protocol::OperationOutput>)>;

// A request that no operation of the model describes but that the service answers itself (S3's
// browser POST upload): the service writes the whole HTTP response. `respond` runs exactly once.
struct RawInvocation {
  RequestContext ctx;
  std::shared_ptr<http::Request> request;
  std::function<void(http::Response)> respond;
};

// One operation call. `request` is the parsed HTTP request (headers, and the raw body for blob
// payload members: Request::body or Request::stream); it stays valid until `done` is called.
struct Invocation {
  RequestContext ctx;
  const protocol::Operation* op = nullptr;
  nlohmann::json params = nlohmann::json::object();
  std::shared_ptr<http::Request> request;
  Done done;  // call exactly once, from any thread
};

class Service {
 public:
  virtual ~Service() = default;
  // The service's name ("dynamodb", "sqs", ...).
  virtual std::string_view name() const = 0;
  // The API models this service answers ("sqs" answers "sqs" and "sqs-query").
  virtual std::vector<std::string> models() const { return {std::string(name())}; }
  // Called once before the first request: open state, rebuild caches, arm timers.
  virtual Status start(Env& env) { return Status::ok(); }
  // Called once at shutdown when the daemon stops accepting requests, before it waits for those
  // in flight: answer parked long polls now (they would otherwise hold the drain up).
  virtual void drain() {}
  // Called once at shutdown, after the last request.
  virtual void stop() {}
  // The daemon's clock jumped forward (POST /_sless/clock): re-arm timers from the new time.
  virtual void clock_changed() {}
  // Wipes all state (POST /_sless/reset).
  virtual Status reset() { return Status::ok(); }
  // Whether `op` has a real implementation (else it answers 501).
  virtual bool implements(std::string_view op) const = 0;
  // How many operations have a real implementation.
  virtual size_t implemented_count() const = 0;
  virtual void invoke(Invocation inv) = 0;
  // Extra facts for GET /_sless/health.
  virtual nlohmann::json describe() const { return nlohmann::json::object(); }

  // CORS for services whose resources carry their own rules (S3 bucket CORS). The request's path
  // is in path style (virtual-hosted S3 already rewritten). cors_preflight answers an OPTIONS
  // preflight into `out`; cors_headers adds headers to the response of a request with an Origin.
  // Both return false to leave it to the gateway's permissive default.
  virtual bool cors_preflight(const http::Request& request, http::Response& out) { return false; }
  virtual bool cors_headers(std::string_view method, std::string_view path, std::string_view origin,
                            http::Response& res) {
    return false;
  }
  // Requests outside the model that the service answers itself (see RawInvocation). wants_raw
  // sees the head only, before the body is read (so that the body may be streamed).
  virtual bool wants_raw(const http::Request& head) const { return false; }
  virtual void handle_raw(RawInvocation inv) {}
};

// Base for providers: a table from operation name to handler. Unlisted operations answer 501.
class Provider : public Service {
 public:
  bool implements(std::string_view op) const override { return ops_.count(std::string(op)) > 0; }
  size_t implemented_count() const override { return ops_.size(); }
  void invoke(Invocation inv) override;

 protected:
  using Handler = std::function<void(Invocation&&)>;
  using SyncHandler = std::function<Outcome<protocol::OperationOutput>(RequestContext&, nlohmann::json&)>;
  // An operation that may finish later (long polls, function invocations, streamed bodies).
  void on(std::string op, Handler handler) { ops_[std::move(op)] = std::move(handler); }
  // An operation that answers before returning.
  void on_sync(std::string op, SyncHandler handler);

 private:
  std::unordered_map<std::string, Handler> ops_;
};

// Client JSON whose shape no model checked (parameters read loosely, policies and redrive
// policies sent inside strings, a token's header and claims, a JWK) is read with these rather
// than nlohmann's value(), which throws on a member of another type.
// The member `key` of `object` when it is a string, else `fallback` (also for a non-object).
inline std::string string_member(const nlohmann::json& object, const char* key, std::string fallback = {}) {
  if (!object.is_object()) return fallback;
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}
// A policy's Statement as an array, made one (IAM also takes a single statement object; any
// other value becomes an empty list).
nlohmann::json& statements_of(nlohmann::json& policy);

// A service whose API model is served but none of whose operations exist yet: every operation
// answers 501 naming it. Replaced by a provider when the service lands.
class ModelOnlyService final : public Service {
 public:
  ModelOnlyService(std::string name, std::vector<std::string> models) : name_(std::move(name)), models_(std::move(models)) {}
  std::string_view name() const override { return name_; }
  std::vector<std::string> models() const override { return models_; }
  bool implements(std::string_view) const override { return false; }
  size_t implemented_count() const override { return 0; }
  void invoke(Invocation inv) override;

 private:
  std::string name_;
  std::vector<std::string> models_;
};

}  // namespace sless::services
