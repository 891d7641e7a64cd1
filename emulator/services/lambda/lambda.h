// Lambda: functions as C++ plugins run by the function host, with the Lambda API (functions,
// versions, aliases, invoke, permissions, concurrency, tags, event invoke configs and event source
// mappings). Function documents live in the "lambda" column family, one JSON document per
// function; a cache of them is rebuilt at start. Thread-safe: one mutex per function.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>

#include "host/function_host.h"
#include "services/lambda/event_sources.h"
#include "services/service.h"

namespace sless::storage {
class Family;
}
namespace sless::host {
class Launcher;
class FileWatcher;
}  // namespace sless::host

namespace sless::services::logs {
class LogsService;
}

namespace sless::services::lambda {

// One function: its document (configuration, code, versions, aliases, policy, ...) and the
// runtime configurations derived from it.
struct Function {
  std::mutex mu;
  nlohmann::json doc;
  std::map<std::string, std::shared_ptr<const host::FunctionConfig>> configs;  // by version
};

// How a caller inside the daemon invokes a function (event sources, destinations, SNS, S3).
struct InternalInvoke {
  std::string account;
  std::string region;
  std::string function;     // name or ARN, optionally qualified
  std::string payload;
  bool async = false;       // "Event": queued with the function's retry policy and destinations
};

class LambdaService final : public Provider, public host::LogSink {
 public:
  LambdaService();
  ~LambdaService() override;
  std::string_view name() const override { return "lambda"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  using Provider::invoke;  // the API's entry point, beside the in-daemon one below
  // Invokes a function from inside the daemon. `done` gets the host's result (for async: once
  // the event is queued, with an empty payload), or a ServiceError (unknown function, ...).
  void invoke(InternalInvoke request, std::function<void(Outcome<host::InvokeResult>)> done);
  // Starts the function host's zygote ahead of the first function's creation (stack deployments).
  void prepare_host();

  // host::LogSink: the lines go to the Logs service's write queue, written in batches.
  void write(const host::FunctionConfig& fn, const std::string& stream, std::vector<host::LogLine> lines) override;
  void settle() override;

  struct Resolved;  // a function reference resolved to a function and one of its versions

 private:
  using Out = Outcome<protocol::OperationOutput>;
  using Params = nlohmann::json;

  // functions.cpp
  Status load_all();
  std::shared_ptr<Function> find(const std::string& account, const std::string& region, const std::string& name);
  std::string doc_key(const std::string& account, const std::string& region, const std::string& name) const;
  Status save(const Function& fn);
  Status remove(const Function& fn);
  std::shared_ptr<const host::FunctionConfig> make_config(const nlohmann::json& doc, const std::string& version,
                                                           const nlohmann::json& snapshot);
  void refresh_configs(Function& fn);
  Outcome<nlohmann::json> store_code(const nlohmann::json& code_params, const std::string& handler,
                                     RequestContext& ctx);
  Outcome<Resolved> resolve(const std::string& account, const std::string& region, const std::string& name_or_arn,
                            const std::string& qualifier);
  void watch_code(const std::string& account, const std::string& region, const std::string& name,
                  const std::string& path);
  void on_code_changed(const std::string& path);
  host::FileWatcher* watcher();  // created on first use; call with mu_ held
  void probe(std::shared_ptr<const host::FunctionConfig> cfg, std::function<void(std::optional<std::string>)> done);
  // CreateFunction's proof that the plugin loads, shared by functions whose workers would start
  // alike (same plugin snapshot, handler, memory and environment): one cold start proves them all
  // (a stack of functions built from one plugin), and a proof that held stands for the daemon's
  // lifetime. The worker it leaves warm serves the function that asked first.
  void prove(std::shared_ptr<const host::FunctionConfig> cfg, std::function<void(std::optional<std::string>)> done);

  // api.cpp
  void register_operations();
  void create_function(Invocation&& inv);
  void update_function_code(Invocation&& inv);
  Out update_function_configuration(RequestContext& ctx, Params& p);
  Out get_function(RequestContext& ctx, Params& p);
  Out get_function_configuration(RequestContext& ctx, Params& p);
  Out list_functions(RequestContext& ctx, Params& p);
  Out delete_function(RequestContext& ctx, Params& p);
  Out publish_version(RequestContext& ctx, Params& p);
  Out list_versions(RequestContext& ctx, Params& p);
  Out create_alias(RequestContext& ctx, Params& p);
  Out get_alias(RequestContext& ctx, Params& p);
  Out list_aliases(RequestContext& ctx, Params& p);
  Out update_alias(RequestContext& ctx, Params& p);
  Out delete_alias(RequestContext& ctx, Params& p);
  Out add_permission(RequestContext& ctx, Params& p);
  Out remove_permission(RequestContext& ctx, Params& p);
  Out get_policy(RequestContext& ctx, Params& p);
  Out put_concurrency(RequestContext& ctx, Params& p);
  Out get_concurrency(RequestContext& ctx, Params& p);
  Out delete_concurrency(RequestContext& ctx, Params& p);
  Out tag_resource(RequestContext& ctx, Params& p);
  Out untag_resource(RequestContext& ctx, Params& p);
  Out list_tags(RequestContext& ctx, Params& p);
  Out put_event_invoke_config(RequestContext& ctx, Params& p, bool update);
  Out get_event_invoke_config(RequestContext& ctx, Params& p);
  Out delete_event_invoke_config(RequestContext& ctx, Params& p);
  Out list_event_invoke_configs(RequestContext& ctx, Params& p);
  Out get_account_settings(RequestContext& ctx, Params& p);
  void invoke_api(Invocation&& inv);
  void invoke_async_api(Invocation&& inv);

  // async.cpp: Event invocations, retries, destinations and dead-letter queues.
  Status queue_event(const Resolved& target, const std::string& payload, const std::string& request_id);
  void load_events();
  void run_event(uint64_t seq);
  void deliver(const std::string& account, const std::string& region, const std::string& target_arn,
               const nlohmann::json& record, const std::string& request_id);

  // event_sources.cpp: event source mappings.
  void load_mappings();
  void stop_mappings();
  void start_runner_locked(const std::string& uuid);
  Out create_event_source_mapping(RequestContext& ctx, Params& p);
  Out get_event_source_mapping(RequestContext& ctx, Params& p);
  Out list_event_source_mappings(RequestContext& ctx, Params& p);
  Out update_event_source_mapping(RequestContext& ctx, Params& p);
  Out delete_event_source_mapping(RequestContext& ctx, Params& p);

  Env* env_ = nullptr;
  logs::LogsService* logs_ = nullptr;
  storage::Family* family_ = nullptr;
  std::string code_dir_;
  bool owns_code_dir_ = false;
  std::unique_ptr<host::Launcher> launcher_;
  std::unique_ptr<host::FunctionHost> host_;
  std::unique_ptr<host::FileWatcher> watcher_;

  std::mutex mu_;  // guards functions_ (the map, not the functions)
  // SHA-256 digests of local plugin files, by file identity (device, inode, size, mtime): a
  // stack's functions often share one plugin, which is then hashed once.
  std::mutex digests_mu_;
  std::map<std::string, std::string> local_digests_;
  std::mutex proofs_mu_;  // guards proven_ and proving_ (see prove)
  std::set<std::string> proven_;
  std::map<std::string, std::vector<std::function<void(std::optional<std::string>)>>> proving_;
  std::unordered_map<std::string, std::shared_ptr<Function>> functions_;
  std::map<std::string, std::set<std::string>> watched_;  // watched path → functions using it
  std::atomic<uint64_t> generation_{0};

  struct PendingEvent;
  std::mutex events_mu_;
  std::map<uint64_t, std::shared_ptr<PendingEvent>> events_;
  std::atomic<uint64_t> event_seq_{0};
  std::atomic<bool> stopping_{false};

  std::mutex mappings_mu_;
  std::map<std::string, nlohmann::json> mappings_;  // by UUID
  std::map<std::string, std::unique_ptr<SourceRunner>> runners_;
};

}  // namespace sless::services::lambda
