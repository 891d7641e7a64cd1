#include "daemon/daemon.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/log.h"
#include "gateway/gateway.h"
#include "http/server.h"
#include "services/registry.h"
#include "services/wiring.h"
#include "storage/store.h"

namespace sless {

namespace fs = std::filesystem;

struct Daemon::Parts {
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<services::Registry> registry;
  std::unique_ptr<gateway::Gateway> gateway;
  std::unique_ptr<http::Server> server;
  services::Env env;
  Scheduler::TimerId flush_timer = 0;
  std::function<void()> flush_tick;
};

Daemon::Daemon(Config config) : config_(std::move(config)), parts_(std::make_unique<Parts>()) {}

Daemon::~Daemon() { stop(); }

Status Daemon::start() {
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
  auto store = storage::Store::open(opts);
  if (!store.ok()) return store.status();
  parts_->store = std::move(store).value();

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
  parts_->server = std::make_unique<http::Server>(so, *parts_->gateway);
  if (Status st = parts_->server->listen(); !st.is_ok()) return st;
  config_.port = parts_->server->port();

  parts_->env.store = parts_->store.get();
  parts_->env.scheduler = &parts_->server->scheduler();
  parts_->env.clock = &clock_;
  parts_->env.config = &config_;
  parts_->env.registry = parts_->registry.get();
  parts_->env.io = &parts_->server->io_context();
  parts_->env.files_dir = files_dir;
  if (Status st = parts_->registry->start_all(parts_->env); !st.is_ok()) return st;
  if (Status st = services::connect_services(*parts_->registry, parts_->env); !st.is_ok()) return st;

  parts_->server->start();
  parts_->gateway->set_started(std::chrono::steady_clock::now());
  running_ = true;

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

uint16_t Daemon::port() const { return config_.port; }

std::string Daemon::endpoint() const {
  std::string host = config_.host == "0.0.0.0" ? "127.0.0.1" : config_.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(config_.port);
}

services::Registry& Daemon::registry() { return *parts_->registry; }

}  // namespace sless
