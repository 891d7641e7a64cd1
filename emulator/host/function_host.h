// The function host: runs invocations of function versions in pools of worker processes.
//
//   invoke(config, request) ──▶ Pool(config.key) ──▶ idle worker? ──▶ kInvoke ──▶ kResult ──▶ done
//                                   │ none idle, below the cap: spawn (zygote) and queue
//                                   │ at a reserved-concurrency cap: throttle (sync) or queue
//   worker crash / timeout / out of memory ──▶ the function error Lambda reports; the worker is
//   replaced and the daemon goes on.
//
// Each invocation writes START / output / END / REPORT lines to a LogSink. Thread-safe: invoke()
// may be called from any thread; `done` runs on an io thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace boost::asio {
class io_context;
}

namespace sless {
class Clock;
namespace services {
class Registry;
}
}  // namespace sless

namespace sless::host {

class Launcher;

// The runtime configuration of one function version: immutable once shared. A change of code or
// configuration is a new FunctionConfig with another `key`, so old workers drain and new ones start.
struct FunctionConfig {
  std::string key;            // identity of this configuration (arn:version:generation)
  std::string account;
  std::string region;
  std::string name;
  std::string arn;            // unqualified function ARN
  std::string version = "$LATEST";
  std::string plugin_path;    // the snapshot of the plugin file
  std::string handler;
  int memory_mb = 128;
  int timeout_s = 3;
  int reserved_concurrency = -1;  // -1: none reserved (capped by the host's default)
  std::vector<std::pair<std::string, std::string>> environment;
  std::string endpoint;       // the daemon's URL, for AWS_ENDPOINT_URL
};

struct InvokeRequest {
  std::string request_id;
  std::string payload;
  std::string invoked_arn;        // as the caller named it (qualified when a qualifier was used)
  std::string client_context;
  std::string trace_id;
  bool throttle = true;           // sync Invoke: refuse at the concurrency cap; event sources queue
};

struct InvokeResult {
  enum class Kind { kOk, kFunctionError, kThrottled };
  Kind kind = Kind::kOk;
  std::string payload;            // the result, or {"errorMessage", "errorType"} for errors
  std::string error_type;         // for function errors
  std::string log;                // this invocation's log, START to REPORT
  double duration_ms = 0;
  bool cold = false;
};

struct LogLine {
  int64_t timestamp_ms;
  std::string message;
};

// Where invocation logs go (the CloudWatch Logs service). Called on io threads.
class LogSink {
 public:
  virtual ~LogSink() = default;
  // Takes an invocation's lines before its answer is handed back: a read of the logs that starts
  // after this returns must see them. The sink may store them later, in batches.
  virtual void write(const FunctionConfig& fn, const std::string& stream, std::vector<LogLine> lines) = 0;
  // Called after the answer was handed back: a good time to store what write() took.
  virtual void settle() {}
};

class FunctionHost {
 public:
  // Host-wide cap of concurrent workers per function when none is reserved.
  static constexpr int kDefaultConcurrency = 64;

  // `contexts`: the io threads' contexts (at least one); workers' sockets are spread over them.
  FunctionHost(std::vector<boost::asio::io_context*> contexts, Launcher& launcher, services::Registry& registry,
               Clock& clock);
  ~FunctionHost();
  FunctionHost(const FunctionHost&) = delete;
  FunctionHost& operator=(const FunctionHost&) = delete;

  void set_log_sink(LogSink* sink);
  // Whether the HTTP server has a lone client (http::Server::lone_client): then a lone invocation's
  // answer is polled for (see Worker::await_reply). Without it, never. Set before the first invocation.
  void set_lone_client(std::function<bool()> lone_client);
  void invoke(std::shared_ptr<const FunctionConfig> fn, InvokeRequest request,
              std::function<void(InvokeResult)> done);
  // Makes sure a worker of `fn` is running (starting one if needed) and reports whether the
  // plugin loads: nullopt, or the load error. The worker stays warm for the next invocation.
  void warm(std::shared_ptr<const FunctionConfig> fn, std::function<void(std::optional<std::string>)> done);
  // Starts the zygote now if it is not running, so that its own start-up overlaps whatever the
  // caller does before its first cold start. Errors show at that cold start instead.
  void prepare();
  // Stops giving work to workers of this configuration; they exit once idle.
  void retire(const std::string& key);
  // Retires every configuration whose key starts with `prefix` (all versions of a function).
  void retire_prefix(const std::string& prefix);
  // Stops every worker (daemon shutdown).
  void shutdown();
  nlohmann::json stats() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace sless::host
