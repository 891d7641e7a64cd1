#include "host/function_host.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/json_parse.h"
#include "core/log.h"
#include "core/time_format.h"
#include "host/launcher.h"
#include "host/wire.h"
#include "protocol/codec.h"
#include "protocol/model.h"
#include "services/registry.h"

namespace sless::host {

namespace net = boost::asio;
using nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

namespace {

struct Job {
  InvokeRequest req;
  std::function<void(InvokeResult)> done;
};

std::string error_payload(std::string_view type, std::string_view message) {
  return json{{"errorType", type}, {"errorMessage", message}}.dump(-1, ' ', false, json::error_handler_t::replace);
}

InvokeResult runtime_error(std::string_view type, std::string message) {
  InvokeResult r;
  r.kind = InvokeResult::Kind::kFunctionError;
  r.error_type = std::string(type);
  r.payload = error_payload(type, message);
  return r;
}

// Lambda's runtime reports signals the way Go names them.
std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    switch (WTERMSIG(status)) {
      case SIGSEGV: return "signal: segmentation fault";
      case SIGABRT: return "signal: aborted";
      case SIGKILL: return "signal: killed";
      case SIGBUS: return "signal: bus error";
      case SIGFPE: return "signal: floating point exception";
      case SIGILL: return "signal: illegal instruction";
      case SIGTERM: return "signal: terminated";
      default: return "signal: " + std::to_string(WTERMSIG(status));
    }
  }
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "exit status unknown";
}

// "%.2f" without printf's format parsing and locale (std::to_chars rounds as printf does).
std::string format_ms(double ms) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, ms, std::chars_format::fixed, 2);
  if (ec != std::errc()) return "0.00";
  return std::string(buf, end);
}

}  // namespace

class Pool;
class Worker;

struct FunctionHost::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::vector<net::io_context*> ios, Launcher& l, services::Registry& r, Clock& c)
      : contexts(std::move(ios)), io(contexts.empty() ? nullptr : contexts.front()), launcher(l), registry(r),
        clock(c) {}

  // The io threads' contexts; a worker's socket lives on one of them. io is the first, for the
  // host's own timer and posts. None (a service test without a server): invocations fail.
  std::vector<net::io_context*> contexts;
  net::io_context* io;
  std::atomic<size_t> next_context{0};
  Launcher& launcher;
  services::Registry& registry;
  Clock& clock;
  std::atomic<LogSink*> sink{nullptr};
  mutable std::mutex mu;
  std::unordered_map<std::string, std::shared_ptr<Pool>> pools;
  std::atomic<bool> stopping{false};
  // Invocations submitted and not yet answered, over all functions, and whether the HTTP server
  // has a lone client (see Worker::await_reply; set before the first invocation).
  std::atomic<int> in_flight{0};
  std::function<bool()> lone_client;

  // The deadlines of running invocations, with one timer for the earliest: an invocation does not
  // arm or cancel a timer of its own (each of which would wake an io thread), it adds and removes
  // an entry; the timer is re-armed only for a deadline earlier than the one it waits for.
  using Deadlines = std::multimap<SteadyClock::time_point, std::pair<std::weak_ptr<Worker>, uint64_t>>;
  std::mutex deadline_mu;
  Deadlines deadlines;
  std::unique_ptr<net::steady_timer> deadline_timer;  // made on first use
  SteadyClock::time_point armed_for = SteadyClock::time_point::max();
  uint64_t arm_generation = 0;

  Deadlines::iterator watch(SteadyClock::time_point at, const std::shared_ptr<Worker>& w, uint64_t seq);
  void unwatch(Deadlines::iterator it);
  void arm_locked(SteadyClock::time_point at);
  void on_deadline(uint64_t generation);

  std::shared_ptr<Pool> pool_for(const std::shared_ptr<const FunctionConfig>& fn);

  // For a new worker: the context of the calling io thread, so that the requests arriving on
  // that thread find a worker there (no hop to another thread and back); else one in turn.
  net::io_context& context_for_worker() {
    for (net::io_context* c : contexts) {
      if (c->get_executor().running_in_this_thread()) return *c;
    }
    return *contexts[next_context.fetch_add(1, std::memory_order_relaxed) % contexts.size()];
  }
};

// One worker process, seen from the daemon. All its state lives on its strand.
class Worker : public std::enable_shared_from_this<Worker> {
 public:
  Worker(std::shared_ptr<FunctionHost::Impl> host, std::shared_ptr<Pool> pool, net::io_context& context, int pid,
         int fd, SteadyClock::time_point spawned_at)
      : host_(std::move(host)), pool_(std::move(pool)), context_(&context), strand_(net::make_strand(context)),
        sock_(strand_), timer_(strand_), pid_(pid), spawned_at_(spawned_at) {
    boost::system::error_code ec;
    sock_.assign(net::local::stream_protocol(), fd, ec);
    if (ec) ::close(fd);
  }

  void start() {
    net::dispatch(strand_, [self = shared_from_this()] { self->read_more(); });
  }
  // Whether the calling thread is the one that runs this worker's socket.
  bool local() const { return context_->get_executor().running_in_this_thread(); }
  void run(Job job) {
    net::dispatch(strand_, [self = shared_from_this(), job = std::move(job)]() mutable { self->do_run(std::move(job)); });
  }
  void on_exit_status(int status) {
    net::dispatch(strand_, [self = shared_from_this(), status] {
      self->exit_status_ = status;
      if (self->awaiting_status_) self->finish_crash();
    });
  }
  // Ends the worker: closing its socket makes it exit.
  void stop() {
    net::dispatch(strand_, [self = shared_from_this()] {
      boost::system::error_code ec;
      self->state_ = State::kDead;
      self->sock_.close(ec);
    });
  }
  int pid() const { return pid_; }
  // The deadline of invocation `seq` passed (any thread).
  void deadline_passed(uint64_t seq) {
    net::dispatch(strand_, [self = shared_from_this(), seq] {
      if (self->job_seq_ != seq || !self->watching_) return;  // finished (or reported) already
      self->host_->unwatch(self->deadline_);
      self->watching_ = false;
      if (self->state_ == State::kBusy) self->on_timeout();
    });
  }

 private:
  enum class State { kStarting, kIdle, kBusy, kDead };

  void read_more() {
    sock_.async_read_some(net::buffer(chunk_), [self = shared_from_this()](boost::system::error_code ec, size_t n) {
      if (ec) {
        self->on_eof();
        return;
      }
      self->inbuf_.append(self->chunk_.data(), n);
      while (self->inbuf_.size() >= 4) {
        uint32_t len = wire::body_length(self->inbuf_.data());
        if (len > wire::kMaxFrameBytes) {
          self->kill_process();
          self->on_eof();
          return;
        }
        if (self->inbuf_.size() < 4 + len) break;
        wire::Frame f;
        bool ok = wire::decode(std::string_view(self->inbuf_.data() + 4, len), &f);
        self->inbuf_.erase(0, 4 + len);
        if (ok) self->on_frame(std::move(f));
        if (self->state_ == State::kDead) return;
      }
      self->read_more();
    });
  }

  // Writes a frame straight to the socket from the calling thread (on the strand): a frame that
  // fits the socket's buffer costs one send() and no completion to schedule. The rest of a larger
  // one, and frames behind it, go out asynchronously in order.
  void send(std::string frame) {
    if (!writing_.empty()) {
      pending_out_.append(frame);
      return;
    }
    size_t sent = 0;
    while (sent < frame.size()) {
      ssize_t n = ::send(sock_.native_handle(), frame.data() + sent, frame.size() - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        break;
      } else {
        kill_process();
        return;
      }
    }
    if (sent == frame.size()) return;
    writing_ = frame.substr(sent);
    write_rest();
  }

  void write_rest() {
    net::async_write(sock_, net::buffer(writing_), [self = shared_from_this()](boost::system::error_code ec, size_t) {
      if (ec) {
        self->kill_process();
        return;
      }
      self->writing_.swap(self->pending_out_);
      self->pending_out_.clear();
      if (!self->writing_.empty()) self->write_rest();
    });
  }

  void kill_process() {
    if (pid_ > 0) ::kill(pid_, SIGKILL);
  }

  void on_frame(wire::Frame f);
  void log_start_up(const std::string& timings, SteadyClock::time_point hello_at) const;
  void on_eof();
  void do_run(Job job);
  // After a frame that the worker answers (an invocation, a call's result): when this is the
  // host's only invocation in flight and the HTTP server has a lone client, polls the socket
  // for up to kReplyPollUs before the io thread goes back to epoll. An answer in that time is
  // then read without the io thread having slept, which on a virtual machine saves the 15-20 µs
  // of waking it. With more clients it never polls: their requests may be waiting, unread, for
  // this io thread (one invocation in flight is no sign of an idle daemon under load). Idle
  // connections beside the client's (an SDK's pool, a test harness's) do not stop it.
  void await_reply();
  void on_timeout();
  void finish(InvokeResult r, bool recycle);
  void finish_crash();
  void handle_call(const wire::Frame& f);

  std::shared_ptr<FunctionHost::Impl> host_;
  std::shared_ptr<Pool> pool_;
  net::io_context* context_;
  net::strand<net::io_context::executor_type> strand_;
  net::local::stream_protocol::socket sock_;
  net::steady_timer timer_;
  int pid_;
  State state_ = State::kStarting;
  std::array<char, 64 * 1024> chunk_{};
  std::string inbuf_;
  std::string writing_;      // the part of a frame an asynchronous write is sending
  std::string pending_out_;  // frames queued behind it
  std::optional<Job> job_;
  SteadyClock::time_point spawned_at_;
  SteadyClock::time_point started_;
  int64_t started_wall_ms_ = 0;
  std::optional<int> exit_status_;
  bool awaiting_status_ = false;
  bool cold_ = true;
  double init_ms_ = 0;
  std::string init_log_;
  std::string log_stream_;
  long max_rss_kb_ = 0;
  uint64_t job_seq_ = 0;
  FunctionHost::Impl::Deadlines::iterator deadline_;  // valid while watching_
  bool watching_ = false;
};

// The workers of one function configuration.
class Pool : public std::enable_shared_from_this<Pool> {
 public:
  Pool(std::shared_ptr<FunctionHost::Impl> host, std::shared_ptr<const FunctionConfig> fn)
      : host_(std::move(host)), fn_(std::move(fn)) {}

  const FunctionConfig& config() const { return *fn_; }
  std::shared_ptr<FunctionHost::Impl> host() const { return host_; }

  int cap() const {
    return fn_->reserved_concurrency >= 0 ? fn_->reserved_concurrency : FunctionHost::kDefaultConcurrency;
  }

  void submit(Job job) {
    std::unique_lock lock(mu_);
    if (!load_error_.empty()) {
      std::string why = load_error_;
      lock.unlock();
      fail(std::move(job), why);
      return;
    }
    if (!idle_.empty()) {
      // The most recently idle worker of this thread, else the most recently idle one.
      auto it = std::find_if(idle_.rbegin(), idle_.rend(), [](const auto& w) { return w->local(); });
      auto pick = it == idle_.rend() ? idle_.end() - 1 : std::prev(it.base());
      auto w = std::move(*pick);
      idle_.erase(pick);
      lock.unlock();
      w->run(std::move(job));
      return;
    }
    if (live_ + starting_ < cap()) {
      ++starting_;
      queue_.push_back(std::move(job));
      lock.unlock();
      spawn();
      return;
    }
    if ((fn_->reserved_concurrency >= 0 && job.req.throttle) || queue_.size() >= kMaxQueue) {
      lock.unlock();
      InvokeResult r;
      r.kind = InvokeResult::Kind::kThrottled;
      job.done(std::move(r));
      return;
    }
    queue_.push_back(std::move(job));
  }

  using Warmer = std::function<void(std::optional<std::string>)>;

  void warm(Warmer done) {
    std::unique_lock lock(mu_);
    if (!load_error_.empty()) {
      std::string why = load_error_;
      lock.unlock();
      done(why);
      return;
    }
    if (live_ > 0) {
      lock.unlock();
      done(std::nullopt);
      return;
    }
    warmers_.push_back(std::move(done));
    if (starting_ > 0) return;
    ++starting_;
    lock.unlock();
    spawn();
  }

  // A worker finished starting or finished a job: give it the next job or keep it idle.
  void ready(const std::shared_ptr<Worker>& w, bool just_started) {
    std::unique_lock lock(mu_);
    if (just_started) {
      --starting_;
      ++live_;
      if (!warmers_.empty()) {
        std::vector<Warmer> warmers;
        warmers.swap(warmers_);
        lock.unlock();
        for (auto& f : warmers) f(std::nullopt);
        lock.lock();
      }
    }
    if (retired_) {
      --live_;
      lock.unlock();
      w->stop();
      return;
    }
    if (!queue_.empty()) {
      Job job = std::move(queue_.front());
      queue_.pop_front();
      lock.unlock();
      w->run(std::move(job));
      return;
    }
    idle_.push_back(w);
  }

  // A live worker died (crash, timeout, recycle).
  void dead(const Worker* w) {
    std::unique_lock lock(mu_);
    --live_;
    idle_.erase(std::remove_if(idle_.begin(), idle_.end(), [&](const auto& x) { return x.get() == w; }), idle_.end());
    bool respawn = !retired_ && !queue_.empty() && live_ + starting_ < cap();
    if (respawn) ++starting_;
    lock.unlock();
    if (respawn) spawn();
  }

  // A spawn failed or the plugin did not load: the queued jobs fail with the reason.
  void spawn_failed(const std::string& why, bool load_error) {
    std::deque<Job> failed;
    std::vector<Warmer> warmers;
    {
      std::lock_guard lock(mu_);
      --starting_;
      if (load_error) load_error_ = why;
      if (load_error || live_ + starting_ == 0) {
        failed.swap(queue_);
        warmers.swap(warmers_);
      }
    }
    for (auto& job : failed) fail(std::move(job), why);
    for (auto& w : warmers) w(why);
  }

  void retire() {
    std::vector<std::shared_ptr<Worker>> idle;
    {
      std::lock_guard lock(mu_);
      retired_ = true;
      idle.swap(idle_);
      live_ -= static_cast<int>(idle.size());
    }
    for (auto& w : idle) w->stop();
  }

  json stats() const {
    std::lock_guard lock(mu_);
    return json{{"live", live_}, {"idle", idle_.size()}, {"starting", starting_}, {"queued", queue_.size()}};
  }

 private:
  static constexpr size_t kMaxQueue = 10000;

  void fail(Job job, const std::string& why) {
    auto colon = why.find(':');
    std::string type = colon != std::string::npos && why.compare(0, 8, "Runtime.") == 0 ? why.substr(0, colon)
                                                                                           : "Runtime.Unknown";
    job.done(runtime_error(type, "RequestId: " + job.req.request_id + " Error: " + why));
  }

  void spawn();

  std::shared_ptr<FunctionHost::Impl> host_;
  std::shared_ptr<const FunctionConfig> fn_;
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<Worker>> idle_;
  std::deque<Job> queue_;
  std::vector<Warmer> warmers_;
  int live_ = 0;
  int starting_ = 0;
  bool retired_ = false;
  std::string load_error_;
};

void Pool::spawn() {
  const FunctionConfig& fn = *fn_;
  std::vector<std::string> env = {
      "AWS_LAMBDA_FUNCTION_NAME=" + fn.name,
      "AWS_LAMBDA_FUNCTION_VERSION=" + fn.version,
      "AWS_LAMBDA_FUNCTION_MEMORY_SIZE=" + std::to_string(fn.memory_mb),
      "AWS_LAMBDA_LOG_GROUP_NAME=/aws/lambda/" + fn.name,
      "AWS_REGION=" + fn.region,
      "AWS_DEFAULT_REGION=" + fn.region,
      "AWS_EXECUTION_ENV=AWS_Lambda_provided.al2023",
      "AWS_LAMBDA_RUNTIME_API=sless",
      "AWS_ACCESS_KEY_ID=" + fn.account,
      "AWS_SECRET_ACCESS_KEY=sless",
      "AWS_ENDPOINT_URL=" + fn.endpoint,
      "_HANDLER=" + fn.handler,
      "LAMBDA_TASK_ROOT=" + fn.plugin_path.substr(0, fn.plugin_path.rfind('/')),
      "TZ=:UTC",
      "LANG=C.UTF-8",
      "PATH=/usr/local/bin:/usr/bin:/bin",
  };
  for (const auto& [k, v] : fn.environment) env.push_back(k + "=" + v);
  WorkerSpec spec{fn.plugin_path, fn.handler, fn.memory_mb};
  auto self = shared_from_this();
  auto slot = std::make_shared<std::weak_ptr<Worker>>();
  auto spawned_at = SteadyClock::now();
  net::io_context* context = &host_->context_for_worker();
  host_->launcher.spawn(
      spec, env,
      [self, slot, spawned_at, context](Result<Launcher::Spawned> r) {
        if (!r.ok()) {
          std::string why = "Runtime.Unknown: " + r.status().message();
          net::post(*self->host_->io, [self, why] { self->spawn_failed(why, false); });
          return;
        }
        auto w = std::make_shared<Worker>(self->host_, self, *context, r->pid, r->fd, spawned_at);
        *slot = w;
        w->start();
      },
      [slot](int status) {
        if (auto w = slot->lock()) w->on_exit_status(status);
      });
}

void Worker::on_frame(wire::Frame f) {
  switch (f.type) {
    case wire::Type::kHello: {
      if (state_ != State::kStarting) return;
      if (f.at(0) != "ok") {
        state_ = State::kDead;
        pool_->spawn_failed(f.at(1), /*load_error=*/true);
        boost::system::error_code ec;
        sock_.close(ec);
        return;
      }
      init_log_ = f.at(4);
      auto hello_at = SteadyClock::now();
      init_ms_ = std::chrono::duration<double, std::milli>(hello_at - spawned_at_).count();
      if (log::enabled(log::Level::kDebug)) log_start_up(f.at(5), hello_at);
      state_ = State::kIdle;
      auto now_ms = host_->clock.now_ms();
      std::string date = timefmt::iso8601(now_ms).substr(0, 10);
      for (char& c : date) c = c == '-' ? '/' : c;
      log_stream_ = date + "/[" + pool_->config().version + "]" + ids::random_hex(32);
      pool_->ready(shared_from_this(), /*just_started=*/true);
      return;
    }
    case wire::Type::kResult: {
      if (state_ != State::kBusy) return;
      InvokeResult r;
      const std::string& status = f.at(wire::kResStatus);
      max_rss_kb_ = std::strtol(f.at(wire::kResMaxRssKb).c_str(), nullptr, 10);
      bool recycle = false;
      if (status == "ok") {
        if (f.fields.size() > wire::kResPayload) r.payload = std::move(f.fields[wire::kResPayload]);
      } else if (status == "error") {
        r.kind = InvokeResult::Kind::kFunctionError;
        r.error_type = f.at(wire::kResErrorType).empty() ? "Error" : f.at(wire::kResErrorType);
        r.payload = error_payload(r.error_type, f.at(wire::kResPayload));
        // An allocation failure leaves the heap in doubt: replace the worker, as Lambda resets it.
        recycle = r.error_type == "Runtime.OutOfMemory";
      } else {
        r = runtime_error("Runtime.InvalidResponse",
                          "RequestId: " + job_->req.request_id + " Error: the handler returned no response");
      }
      if (f.fields.size() > wire::kResLogs) r.log = std::move(f.fields[wire::kResLogs]);
      finish(std::move(r), recycle);
      return;
    }
    case wire::Type::kCall:
      handle_call(f);
      return;
    default:
      return;
  }
}

// Where a cold start's time went (the worker reports its steps on the same monotonic clock).
void Worker::log_start_up(const std::string& timings, SteadyClock::time_point hello_at) const {
  long long requested = 0, running = 0, loaded = 0, ready = 0;
  if (std::sscanf(timings.c_str(), "%lld %lld %lld %lld", &requested, &running, &loaded, &ready) != 4) return;
  auto ns = [](SteadyClock::time_point t) {
    return static_cast<long long>(std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count());
  };
  auto ms = [](long long from, long long to) { return static_cast<double>(to - from) / 1e6; };
  long long spawned = ns(spawned_at_);
  long long hello = ns(hello_at);
  log::debug("cold start of {} (pid {}): {:.3f} ms = to the zygote {:.3f} + fork {:.3f} + plugin load {:.3f} + "
             "set-up {:.3f} + hello to the daemon {:.3f}",
             pool_->config().name, pid_, ms(spawned, hello), ms(spawned, requested), ms(requested, running),
             ms(running, loaded), ms(loaded, ready), ms(ready, hello));
}

void Worker::handle_call(const wire::Frame& f) {
  std::string model_name = f.at(0);
  std::string op_name = f.at(1);
  json params = f.at(2).empty() ? json::object() : json_text::parse(f.at(2));
  auto reply = [self = shared_from_this()](std::string status, std::string body, std::string code, std::string msg) {
    self->send(wire::encode(wire::Type::kCallResult, {status, body, code, msg}));
    self->await_reply();
  };
  if (params.is_discarded() || !params.is_object()) {
    reply("host_error", "", "", "the request is not a JSON object");
    return;
  }
  const FunctionConfig& fn = pool_->config();
  services::RequestContext ctx;
  ctx.request_id = ids::uuid();
  ctx.account = fn.account;
  ctx.region = fn.region;
  ctx.endpoint = fn.endpoint;
  ctx.now_ms = host_->clock.now_ms();
  const protocol::ServiceModel* model = protocol::ModelRegistry::instance().get(model_name);
  const protocol::Operation* op = model ? model->find_operation(op_name) : nullptr;
  const bool json_protocol = model && model->protocol == protocol::Protocol::kJson;
  host_->registry.call(
      model_name, op_name, std::move(params), std::move(ctx),
      [self = shared_from_this(), op, reply, json_protocol](Outcome<protocol::OperationOutput> out) {
        net::dispatch(self->strand_, [self, op, reply, json_protocol, out = std::move(out)]() mutable {
          if (!out.ok()) {
            const ServiceError& e = out.error();
            reply("service_error", e.fields.is_object() && !e.fields.empty() ? e.fields.dump() : "", e.code, e.message);
            return;
          }
          protocol::OperationOutput& o = out.value();
          // A JSON service's own answer text (DynamoDB writes it) goes to the plugin as it is, rather
          // than parsed into a tree and written again; text that is not valid UTF-8 takes the tree's
          // path, whose writer replaces what is invalid.
          if (json_protocol && o.raw_payload) {
            if (enc::is_valid_utf8(*o.raw_payload)) {
              reply("ok", std::move(*o.raw_payload), "", "");
              return;
            }
            json tree = json::parse(*o.raw_payload, nullptr, /*allow_exceptions=*/false);
            o.result = tree.is_object() ? std::move(tree) : json::object();
            o.raw_payload.reset();
          }
          // A blob payload (S3 GetObject Body) comes back base64 in its member, as in the JSON APIs.
          if (op && op->output && !op->output->payload.empty() && (o.raw_payload || o.payload_source)) {
            std::string bytes;
            if (o.raw_payload) {
              bytes = std::move(*o.raw_payload);
            } else {
              constexpr uint64_t kLimit = 6u * 1024 * 1024;
              if (o.payload_source->size() > kLimit) {
                reply("host_error", "", "", "the response body is larger than 6 MB");
                return;
              }
              bytes.resize(o.payload_source->size());
              size_t got = 0;
              while (got < bytes.size()) {
                int64_t n = o.payload_source->read(bytes.data() + got, bytes.size() - got);
                if (n <= 0) break;
                got += static_cast<size_t>(n);
              }
              bytes.resize(got);
            }
            o.result[op->output->payload] = enc::base64_encode(bytes);
          }
          reply("ok", protocol::dump(o.result), "", "");
        });
      },
      /*keep_json_text=*/true);
}

void Worker::do_run(Job job) {
  if (state_ == State::kDead) {
    // Died between being picked and running: hand the job back.
    pool_->submit(std::move(job));
    return;
  }
  state_ = State::kBusy;
  const FunctionConfig& fn = pool_->config();
  started_ = SteadyClock::now();
  started_wall_ms_ = host_->clock.now_ms();
  int64_t deadline = started_wall_ms_ + static_cast<int64_t>(fn.timeout_s) * 1000;
  std::string deadline_text = std::to_string(deadline);
  std::string memory_text = std::to_string(fn.memory_mb);
  std::string log_group = "/aws/lambda/" + fn.name;
  static_assert(wire::kInvFieldCount == 12, "the invoke frame's fields are listed in order below");
  std::string frame = wire::encode(wire::Type::kInvoke,
                                   {job.req.request_id, job.req.payload,
                                    job.req.invoked_arn.empty() ? fn.arn : job.req.invoked_arn, fn.name, fn.version,
                                    log_group, log_stream_, job.req.client_context, std::string_view(),
                                    job.req.trace_id, deadline_text, memory_text});
  job_ = std::move(job);
  ++job_seq_;
  send(std::move(frame));
  deadline_ = host_->watch(started_ + std::chrono::seconds(fn.timeout_s), shared_from_this(), job_seq_);
  watching_ = true;
  await_reply();
}

void Worker::await_reply() {
  constexpr auto kReplyPollUs = std::chrono::microseconds(100);
  if (host_->in_flight.load(std::memory_order_relaxed) != 1 || !writing_.empty() || !host_->lone_client ||
      !host_->lone_client()) {
    return;
  }
  const auto until = SteadyClock::now() + kReplyPollUs;
  pollfd p{sock_.native_handle(), POLLIN, 0};
  while (::poll(&p, 1, 0) == 0 && SteadyClock::now() < until) {
  }
}

void Worker::on_timeout() {
  kill_process();
  const FunctionConfig& fn = pool_->config();
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.2f", static_cast<double>(fn.timeout_s));
  InvokeResult r = runtime_error("Sandbox.Timedout", "RequestId: " + job_->req.request_id +
                                                         " Error: Task timed out after " + secs + " seconds");
  finish(std::move(r), /*recycle=*/true);
}

void Worker::on_eof() {
  if (state_ == State::kDead) return;
  if (state_ == State::kStarting) {
    state_ = State::kDead;
    pool_->spawn_failed("Runtime.ExitError: the worker exited while loading the plugin", /*load_error=*/false);
    return;
  }
  if (state_ == State::kBusy) {
    // A crash: wait briefly for the exit status so the error can name the signal.
    if (exit_status_) {
      finish_crash();
    } else {
      awaiting_status_ = true;
      timer_.expires_after(std::chrono::milliseconds(500));
      timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec && self->awaiting_status_) self->finish_crash();
      });
    }
    return;
  }
  state_ = State::kDead;
  pool_->dead(this);
}

void Worker::finish_crash() {
  awaiting_status_ = false;
  if (state_ != State::kBusy || !job_) return;
  std::string how = exit_status_ ? describe_exit(*exit_status_) : "signal: killed";
  InvokeResult r = runtime_error("Runtime.ExitError", "RequestId: " + job_->req.request_id +
                                                          " Error: Runtime exited with error: " + how);
  finish(std::move(r), /*recycle=*/true);
}

void Worker::finish(InvokeResult r, bool recycle) {
  boost::system::error_code ec;
  if (watching_) {
    host_->unwatch(deadline_);
    watching_ = false;
  }
  Job job = std::move(*job_);
  job_.reset();
  const FunctionConfig& fn = pool_->config();
  double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - started_).count();
  r.duration_ms = ms;
  r.cold = cold_;

  // START / output / END / REPORT, as Lambda writes them.
  std::string output = std::move(r.log);
  if (cold_ && !init_log_.empty()) output = init_log_ + output;
  std::string report = "REPORT RequestId: " + job.req.request_id + "\tDuration: " + format_ms(ms) +
                       " ms\tBilled Duration: " + std::to_string(static_cast<long>(std::ceil(ms))) +
                       " ms\tMemory Size: " + std::to_string(fn.memory_mb) +
                       " MB\tMax Memory Used: " + std::to_string((max_rss_kb_ + 1023) / 1024) + " MB";
  if (cold_) report += "\tInit Duration: " + format_ms(init_ms_) + " ms";
  if (r.error_type == "Sandbox.Timedout") report += "\tStatus: timeout";
  int64_t now = host_->clock.now_ms();
  std::vector<LogLine> lines;
  lines.push_back({started_wall_ms_, "START RequestId: " + job.req.request_id + " Version: " + fn.version});
  size_t pos = 0;
  while (pos < output.size()) {
    size_t nl = output.find('\n', pos);
    std::string line = output.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    lines.push_back({now, std::move(line)});
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (r.kind == InvokeResult::Kind::kFunctionError && r.error_type.rfind("Runtime.", 0) == 0) {
    lines.push_back({now, json::parse(r.payload, nullptr, false).value("errorMessage", r.payload)});
  } else if (r.kind == InvokeResult::Kind::kFunctionError && r.error_type == "Sandbox.Timedout") {
    lines.push_back({now, json::parse(r.payload, nullptr, false).value("errorMessage", r.payload)});
  }
  lines.push_back({now, "END RequestId: " + job.req.request_id});
  lines.push_back({now, report});
  std::string text;
  for (const auto& l : lines) text.append(l.message).push_back('\n');
  r.log = std::move(text);
  LogSink* sink = host_->sink.load();
  if (sink) sink->write(fn, log_stream_, std::move(lines));
  cold_ = false;

  bool dead = recycle || exit_status_.has_value() || !sock_.is_open();
  if (dead) {
    state_ = State::kDead;
    kill_process();
    sock_.close(ec);
  } else {
    state_ = State::kIdle;
  }
  job.done(std::move(r));
  if (dead) {
    pool_->dead(this);
  } else {
    pool_->ready(shared_from_this(), /*just_started=*/false);
  }
  if (sink) sink->settle();
}

FunctionHost::Impl::Deadlines::iterator FunctionHost::Impl::watch(SteadyClock::time_point at,
                                                                  const std::shared_ptr<Worker>& w, uint64_t seq) {
  std::lock_guard lock(deadline_mu);
  auto it = deadlines.emplace(at, std::make_pair(std::weak_ptr<Worker>(w), seq));
  if (at < armed_for) arm_locked(at);
  return it;
}

void FunctionHost::Impl::unwatch(Deadlines::iterator it) {
  std::lock_guard lock(deadline_mu);
  deadlines.erase(it);  // the timer stays armed: when it fires with nothing due, it re-arms
}

void FunctionHost::Impl::arm_locked(SteadyClock::time_point at) {
  armed_for = at;
  if (!deadline_timer) deadline_timer = std::make_unique<net::steady_timer>(*io);
  deadline_timer->expires_at(at);
  deadline_timer->async_wait([self = shared_from_this(), generation = ++arm_generation](boost::system::error_code) {
    self->on_deadline(generation);
  });
}

void FunctionHost::Impl::on_deadline(uint64_t generation) {
  std::vector<std::pair<std::weak_ptr<Worker>, uint64_t>> due;
  {
    std::lock_guard lock(deadline_mu);
    if (generation != arm_generation) return;  // re-armed for an earlier deadline since
    auto now = SteadyClock::now();
    auto end = deadlines.upper_bound(now);
    for (auto it = deadlines.begin(); it != end;) {
      if (it->second.first.expired()) {  // its worker is gone: nobody else will erase it
        it = deadlines.erase(it);
      } else {
        due.push_back(it->second);
        ++it;
      }
    }
    // The workers own their entries: a due one is erased by its worker when it takes the timeout
  // (or finishes first); until then a later firing may report it again, which the worker ignores.
    armed_for = SteadyClock::time_point::max();
    if (end != deadlines.end()) arm_locked(end->first);
  }
  for (auto& [weak, seq] : due) {
    if (auto w = weak.lock()) w->deadline_passed(seq);
  }
}

std::shared_ptr<Pool> FunctionHost::Impl::pool_for(const std::shared_ptr<const FunctionConfig>& fn) {
  std::lock_guard lock(mu);
  auto& p = pools[fn->key];
  if (!p) p = std::make_shared<Pool>(shared_from_this(), fn);
  return p;
}

FunctionHost::FunctionHost(std::vector<net::io_context*> contexts, Launcher& launcher, services::Registry& registry,
                           Clock& clock)
    : impl_(std::make_shared<Impl>(std::move(contexts), launcher, registry, clock)) {}

FunctionHost::~FunctionHost() { shutdown(); }

void FunctionHost::set_log_sink(LogSink* sink) { impl_->sink.store(sink); }

void FunctionHost::set_lone_client(std::function<bool()> lone_client) { impl_->lone_client = std::move(lone_client); }

void FunctionHost::invoke(std::shared_ptr<const FunctionConfig> fn, InvokeRequest request,
                          std::function<void(InvokeResult)> done) {
  if (impl_->stopping.load()) {
    done(runtime_error("Runtime.Unknown", "the function host is shutting down"));
    return;
  }
  if (impl_->contexts.empty()) {
    done(runtime_error("Runtime.Unknown", "the function host has no io threads"));
    return;
  }
  impl_->in_flight.fetch_add(1, std::memory_order_relaxed);
  auto answered = [impl = impl_, done = std::move(done)](InvokeResult r) {
    impl->in_flight.fetch_sub(1, std::memory_order_relaxed);
    done(std::move(r));
  };
  impl_->pool_for(fn)->submit(Job{std::move(request), std::move(answered)});
}

void FunctionHost::prepare() {
  if (impl_->stopping.load()) return;
  if (Status st = impl_->launcher.warm_up(); !st.is_ok()) log::debug("function host: zygote not started: {}", st.message());
}

void FunctionHost::warm(std::shared_ptr<const FunctionConfig> fn,
                        std::function<void(std::optional<std::string>)> done) {
  if (impl_->stopping.load() || impl_->contexts.empty()) {
    done(std::string(impl_->stopping.load() ? "the function host is shutting down"
                                            : "the function host has no io threads"));
    return;
  }
  impl_->pool_for(fn)->warm(std::move(done));
}

void FunctionHost::retire(const std::string& key) {
  std::shared_ptr<Pool> p;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->pools.find(key);
    if (it == impl_->pools.end()) return;
    p = std::move(it->second);
    impl_->pools.erase(it);
  }
  p->retire();
}

void FunctionHost::retire_prefix(const std::string& prefix) {
  std::vector<std::shared_ptr<Pool>> retired;
  {
    std::lock_guard lock(impl_->mu);
    for (auto it = impl_->pools.begin(); it != impl_->pools.end();) {
      if (it->first.compare(0, prefix.size(), prefix) == 0) {
        retired.push_back(std::move(it->second));
        it = impl_->pools.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& p : retired) p->retire();
}

void FunctionHost::shutdown() {
  if (impl_->stopping.exchange(true)) return;
  {
    std::lock_guard lock(impl_->deadline_mu);
    ++impl_->arm_generation;
    impl_->armed_for = SteadyClock::time_point::max();
    if (impl_->deadline_timer) impl_->deadline_timer->cancel();
  }
  std::unordered_map<std::string, std::shared_ptr<Pool>> pools;
  {
    std::lock_guard lock(impl_->mu);
    pools.swap(impl_->pools);
  }
  for (auto& [_, p] : pools) p->retire();
}

json FunctionHost::stats() const {
  json out = json::object();
  std::lock_guard lock(impl_->mu);
  for (const auto& [key, p] : impl_->pools) out[key] = p->stats();
  return out;
}

}  // namespace sless::host
