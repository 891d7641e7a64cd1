// The Lambda service's lifecycle, its in-process invoke, and the log sink of its invocations.
#include <unistd.h>

#include <filesystem>

#include "core/clock.h"
#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "host/launcher.h"
#include "host/watcher.h"
#include "services/lambda/internal.h"
#include "services/logs/logs.h"
#include "services/registry.h"
#include "storage/store.h"

namespace sless::services::lambda {

namespace fs = std::filesystem;
using nlohmann::json;

LambdaService::~LambdaService() { stop(); }

Status LambdaService::start(Env& env) {
  env_ = &env;
  family_ = env.store->family("lambda");
  if (!family_) return Status::internal("cannot open the lambda column family");
  std::error_code ec;
  if (!env.files_dir.empty()) {
    code_dir_ = (fs::path(env.files_dir) / "lambda" / "code").string();
  } else {
    // In-memory mode still needs files to dlopen: a private temp dir, removed at stop.
    code_dir_ = (fs::temp_directory_path(ec) / ("sless-lambda-" + std::to_string(::getpid()) + "-" + ids::random_hex(6))).string();
    owns_code_dir_ = true;
  }
  fs::create_directories(code_dir_, ec);
  if (ec) return Status::io_error("cannot create " + code_dir_ + ": " + ec.message());
  launcher_ = std::make_unique<host::Launcher>(env.config->worker_binary);
  host_ = std::make_unique<host::FunctionHost>(env.io_threads, *launcher_, *env.registry, *env.clock);
  host_->set_lone_client(env.lone_client);
  logs_ = env.registry->get<logs::LogsService>("logs");
  host_->set_log_sink(this);
  {
    std::lock_guard lock(mu_);
    if (Status st = load_all(); !st.is_ok()) return st;
  }
  load_events();
  load_mappings();
  return Status::ok();
}

void LambdaService::stop() {
  if (stopping_.exchange(true)) return;
  stop_mappings();
  watcher_.reset();
  if (host_) host_->shutdown();
  launcher_.reset();
  if (owns_code_dir_) {
    std::error_code ec;
    fs::remove_all(code_dir_, ec);
  }
}

Status LambdaService::reset() {
  if (!env_) return Status::ok();
  stop_mappings();
  {
    std::lock_guard lock(mu_);
    for (const auto& [path, _] : watched_) watcher()->unwatch(path);
    watched_.clear();
    functions_.clear();
  }
  {
    std::lock_guard lock(events_mu_);
    events_.clear();
  }
  host_->retire_prefix("");
  return env_->store->clear(family_);
}

json LambdaService::describe() const {
  size_t n = 0;
  {
    std::lock_guard lock(const_cast<std::mutex&>(mu_));
    n = functions_.size();
  }
  return json{{"functions", n}, {"worker_pools", host_ ? host_->stats() : json::object()}};
}

void LambdaService::prepare_host() {
  if (host_) host_->prepare();
}

void LambdaService::invoke(InternalInvoke request, std::function<void(Outcome<host::InvokeResult>)> done) {
  auto r = resolve(request.account, request.region, request.function, "");
  if (!r.ok()) {
    done(std::move(r).error());
    return;
  }
  std::string request_id = ids::uuid();
  if (request.async) {
    if (Status st = queue_event(r.value(), request.payload, request_id); !st.is_ok()) {
      done(ServiceError::internal(st.to_string()));
      return;
    }
    done(host::InvokeResult{});
    return;
  }
  host::InvokeRequest req;
  req.request_id = request_id;
  req.payload = std::move(request.payload);
  req.invoked_arn = r.value().invoked_arn;
  req.throttle = false;
  host_->invoke(r.value().config, std::move(req), [done = std::move(done)](host::InvokeResult res) { done(std::move(res)); });
}

void LambdaService::write(const host::FunctionConfig& fn, const std::string& stream, std::vector<host::LogLine> lines) {
  if (!logs_) return;
  std::vector<logs::Event> events;
  events.reserve(lines.size());
  for (auto& l : lines) events.push_back({l.timestamp_ms, std::move(l.message)});
  logs_->enqueue(fn.account, fn.region, "/aws/lambda/" + fn.name, stream, std::move(events), /*run=*/true);
}

void LambdaService::settle() {
  if (logs_) logs_->write_queued();
}

}  // namespace sless::services::lambda
