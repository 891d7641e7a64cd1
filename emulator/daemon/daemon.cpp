#include "daemon/daemon.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "core/log.h"
#include "gateway/gateway.h"
#include "http/server.h"
#include "services/apigateway/api_port.h"
#include "services/apigateway/apigateway.h"
#include "services/registry.h"
#include "services/wiring.h"
#include "stack/stack.h"
#include "storage/store.h"

namespace sless {

namespace fs = std::filesystem;

namespace {

// The store's side of the server's answer hooks: the writes an io thread makes while it handles a
// batch of requests reach the OS together, just before the first of their answers is written.
class LogHooks final : public http::AnswerHooks {
 public:
  explicit LogHooks(storage::Store& store) : store_(store) {}
  void hold() override { store_.hold_log(); }
  void release(bool answer_queued) override { store_.release_log(!answer_queued); }
  void before_answer() override { store_.flush_log().ignore(); }  // a failure is logged there

 private:
  storage::Store& store_;
};

}  // namespace

struct Daemon::Parts {
  // The stack's API ports; declared first so that they outlive the server that calls them.
  std::vector<std::unique_ptr<services::apigateway::ApiPortHandler>> api_handlers;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<LogHooks> log_hooks;  // the server's, for the store's log
  std::unique_ptr<services::Registry> registry;
  std::unique_ptr<gateway::Gateway> gateway;
  std::unique_ptr<http::Server> server;
  services::Env env;
  Scheduler::TimerId flush_timer = 0;
  std::function<void()> flush_tick;
};

Daemon::Daemon(Config config) : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

Daemon::~Daemon() { stop(); }

namespace {

// Milliseconds since `from`, for the start-up timings logged at debug level.
double ms_since(std::chrono::steady_clock::time_point from) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - from).count();
}

}  // namespace

Status Daemon::start() {
  const auto t0 = std::chrono::steady_clock::now();
  // On a first deployment (a fresh data dir), the template's API models load on another core
  // while the store opens and the services start. A restart mostly finds nothing to change.
  std::jthread preload;
  std::error_code fresh_ec;
  const bool fresh =
      config_.in_memory || !fs::exists(fs::path(config_.data_dir) / "db" / "CURRENT", fresh_ec);
  if (!config_.template_file.empty() && fresh) {
    stack::StackOptions options;
    options.template_path = config_.template_file;
    options.parameter_overrides = config_.parameter_overrides;
    options.stack_name = config_.stack_name;
    options.region = config_.region;
    preload = std::jthread([options = std::move(options)] { stack::preload_models(options); });
  }
  std::string files_dir;
  storage::Options opts;
  opts.in_memory = config_.in_memory;
  if (!config_.in_memory) {
    std::error_code ec;
    fs::create_directories(config_.data_dir, ec);
    if (ec) return Status::io_error("cannot create data dir " + config_.data_dir + ": " + ec.message());
    config_.data_dir = fs::absolute(config_.data_dir).lexically_normal().string();
    opts.dir = (fs::path(config_.data_dir) / "db").string();
    files_dir = (fs::path(config_.data_dir) / "files").string();
  }
  // The services' families, created together on a fresh data dir (each one created alone rewrites
  // RocksDB's options file) after the ready line (settle) or at the first write, whichever is first.
  opts.families = {"dynamodb", "s3", "sqs", "sns", "kinesis", "lambda", "apigateway", "events", "logs", "stacks"};
  // Families written mostly in key order under a prefix: log events (a stream's prefix, then a
  // timestamp and a sequence number), SQS messages, states and journals (a queue's prefix, then a
  // sequence number) and Kinesis records (a shard's prefix, then a counter).
  opts.ordered_suffix = {{"logs", 16}, {"sqs", 8}, {"kinesis", 8}};
  auto store = storage::Store::open(opts);
  if (!store.ok()) return store.status();
  parts_->store = std::move(store).value();
  log::debug("start-up: store open at {:.1f} ms", ms_since(t0));
  // A first deployment is about to write to most families: create them meanwhile, beside the
  // services' start and the stack's plan (its first write waits for them).
  std::jthread families;
  if (!config_.template_file.empty() && fresh) families = std::jthread([store = parts_->store.get()] { store->create_families(); });

  parts_->registry = std::make_unique<services::Registry>();
  parts_->gateway = std::make_unique<gateway::Gateway>(config_, *parts_->registry, clock_);
  http::ServerOptions so;
  so.host = config_.host;
  so.port = config_.port;
  so.threads = config_.threads;
  so.max_buffered_body = config_.max_buffered_body;
  so.max_header_bytes = config_.max_header_bytes;
  so.idle_timeout = config_.idle_timeout;
  so.read_timeout = config_.read_timeout;
  if (!parts_->store->in_memory()) {
    parts_->log_hooks = std::make_unique<LogHooks>(*parts_->store);
    so.hooks = parts_->log_hooks.get();
  }
  parts_->server = std::make_unique<http::Server>(so, *parts_->gateway);
  if (Status st = parts_->server->listen(); !st.is_ok()) return st;
  config_.port = parts_->server->port();
  log::debug("start-up: listening at {:.1f} ms", ms_since(t0));

  parts_->env.store = parts_->store.get();
  parts_->env.scheduler = &parts_->server->scheduler();
  parts_->env.clock = &clock_;
  parts_->env.config = &config_;
  parts_->env.registry = parts_->registry.get();
  parts_->env.io_threads = parts_->server->io_contexts();
  parts_->env.lone_client = [server = parts_->server.get()] { return server->lone_client(); };
  parts_->env.files_dir = files_dir;
  if (Status st = parts_->registry->start_all(parts_->env); !st.is_ok()) return st;
  if (Status st = services::connect_services(*parts_->registry, parts_->env); !st.is_ok()) return st;
  log::debug("start-up: services started at {:.1f} ms", ms_since(t0));

  // execute-api requests (Host <id>.execute-api.<any> or /_aws/execute-api/<id>/...) go to the
  // API Gateway's data plane.
  if (auto* apigw = parts_->registry->get<services::apigateway::ApiGatewayService>("apigateway")) {
    parts_->gateway->set_execute_api_handler([apigw](const std::string& id, http::Request req,
                                                     http::Handler::Respond respond) {
      services::apigateway::ServeOptions options;
      std::string prefix = "/_aws/execute-api/" + id;
      if (req.path().substr(0, prefix.size()) == prefix) options.strip_prefix = prefix;
      apigw->serve(id, std::move(req), options, std::move(respond));
    });
  }

  parts_->server->start();
  parts_->gateway->set_started(std::chrono::steady_clock::now());
  running_ = true;

  if (!config_.template_file.empty()) {
    if (Status st = deploy_stack(); !st.is_ok()) return st;
  }

  // Buffered log lines reach stderr at least every 100 ms.
  parts_->flush_tick = [this] {
    log::flush();
    parts_->flush_timer = parts_->server->scheduler().after(std::chrono::milliseconds(100), parts_->flush_tick);
  };
  parts_->flush_timer = parts_->server->scheduler().after(std::chrono::milliseconds(100), parts_->flush_tick);

  if (!config_.in_memory) {
    std::ofstream f(fs::path(config_.data_dir) / "daemon.json", std::ios::trunc);
    f << nlohmann::json{{"pid", ::getpid()}, {"endpoint", endpoint()}, {"port", config_.port},
                        {"version", SLESS_VERSION}}
             .dump()
      << "\n";
  }
  return Status::ok();
}

void Daemon::settle() {
  if (running_) parts_->store->create_families();
}

void Daemon::stop() {
  if (!running_) return;
  running_ = false;
  parts_->server->scheduler().cancel(parts_->flush_timer);
  parts_->registry->drain_all();
  parts_->server->shutdown(std::chrono::duration_cast<std::chrono::milliseconds>(config_.drain_timeout));
  parts_->registry->stop_all();
  if (Status st = parts_->store->flush(); !st.is_ok()) log::error("flushing the store failed: {}", st.to_string());
  if (!config_.in_memory) {
    std::error_code ec;
    fs::remove(fs::path(config_.data_dir) / "daemon.json", ec);
  }
  log::flush();
}

// Deploys the template (the io threads are running: the services answer while this waits) and
// gives each of its APIs a port of its own.
Status Daemon::deploy_stack() {
  stack::StackOptions options;
  options.template_path = config_.template_file;
  options.parameter_overrides = config_.parameter_overrides;
  options.stack_name = config_.stack_name;
  options.account = "000000000000";
  options.region = config_.region;
  options.endpoint = endpoint();
  auto started = std::chrono::steady_clock::now();
  auto plan = stack::plan_stack(options, parts_->registry.get());
  if (!plan.ok()) return plan.status();
  log::debug("start-up: stack planned in {:.1f} ms", ms_since(started));
  auto report = stack::deploy_stack(plan.value(), *parts_->registry, *parts_->store);
  if (!report.ok()) return report.status();
  log::debug("start-up: stack deployed in {:.1f} ms", ms_since(started));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  const auto& r = report.value();
  stack_notes_.push_back("stack " + plan.value().stack_name + " (" + config_.template_file + "): " +
                         (r.changes.empty() ? std::string("no changes") : std::to_string(r.changes.size()) + " change(s)") +
                         ", " + std::to_string(plan.value().resources.size()) + " resources ready in " +
                         std::to_string(ms) + " ms");
  for (const auto& c : r.changes) stack_notes_.push_back("  " + c);
  auto* apigw = parts_->registry->get<services::apigateway::ApiGatewayService>("apigateway");
  std::string host = config_.host == "0.0.0.0" ? "127.0.0.1" : config_.host;
  for (size_t i = 0; i < r.apis.size() && apigw && config_.api_port >= 0; ++i) {
    const auto& api = r.apis[i];
    auto handler = std::make_unique<services::apigateway::ApiPortHandler>(*apigw, api.api_id, api.stage);
    uint16_t want = config_.api_port == 0 ? 0 : static_cast<uint16_t>(config_.api_port + i);
    auto port = parts_->server->add_listener(config_.host, want, *handler);
    if (!port.ok()) return Status::io_error("API " + api.logical_id + ": " + port.status().message());
    parts_->api_handlers.push_back(std::move(handler));
    std::string stage_path = api.stage == "$default" ? "" : api.stage + "/";
    stack_notes_.push_back("API " + api.logical_id + " on http://" + host + ":" + std::to_string(port.value()) +
                           "/ (also " + endpoint() + "/_aws/execute-api/" + api.api_id + "/" + stage_path + ")");
  }
  if (!r.outputs.empty()) stack_notes_.push_back("Outputs:");
  for (const auto& [k, v] : r.outputs) stack_notes_.push_back("  " + k + " = " + v);
  return Status::ok();
}

uint16_t Daemon::port() const { return config_.port; }

std::string Daemon::endpoint() const {
  std::string host = config_.host == "0.0.0.0" ? "127.0.0.1" : config_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(config_.port);
}

services::Registry& Daemon::registry() { return *parts_->registry; }

}  // namespace sless
