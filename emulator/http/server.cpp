// Beast server, after Boost.Beast's advanced server example: do_x/on_x pairs, the parser
// re-emplaced for every request, timeouts on every read. A connection lives on one io thread.
//
//   accept ──▶ Session::do_read_header ──▶ on_header ─┬─ no body / buffered ─▶ on_body ─┐
//                     ▲                               └─ streamed (Request::stream) ─────┤
//                     │                                                                  ▼
//                     └────────────── on_write ◀── do_write ◀── respond() ◀── Handler::handle
#include "http/server.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <ctime>
#include <iterator>
#include <limits>
#include <memory_resource>
#include <mutex>
#include <optional>
#include <thread>
#include <tuple>
#include <unordered_map>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "core/encoding.h"
#include "core/log.h"
#include "http/h2_session.h"

namespace sless::http {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;

constexpr size_t kChunkSize = 256 * 1024;
constexpr size_t kBodyReadSize = 64 * 1024;
// "No limit". Boost 1.74's parser compares against boost::none wrongly, so never pass none.
constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

// A Beast body whose bytes come from a BodySource.
struct SourceBody {
  using value_type = std::shared_ptr<BodySource>;

  static std::uint64_t size(const value_type& v) { return v ? v->size() : 0; }

  class writer {
   public:
    using const_buffers_type = net::const_buffer;

    template <bool isRequest, class Fields>
    writer(const bhttp::header<isRequest, Fields>&, const value_type& v) : source_(v) {}

    void init(beast::error_code& ec) {
      buf_.reset(new char[kChunkSize]);
      ec = {};
    }

    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      ec = {};
      if (!source_) return boost::none;
      int64_t n = source_->read(buf_.get(), kChunkSize);
      if (n < 0) {
        ec = beast::errc::make_error_code(beast::errc::io_error);
        return boost::none;
      }
      if (n == 0) return boost::none;
      return std::make_pair(net::const_buffer(buf_.get(), static_cast<size_t>(n)), true);
    }

   private:
    const value_type& source_;
    std::unique_ptr<char[]> buf_;
  };
};

class AsioScheduler final : public Scheduler {
 public:
  explicit AsioScheduler(net::io_context& ioc) : ioc_(ioc), strand_(net::make_strand(ioc)) {}

  void post(Task task) override { net::post(ioc_, std::move(task)); }

  TimerId after(std::chrono::milliseconds delay, Task task) override {
    auto state = std::make_shared<State>(ioc_, std::move(task));
    TimerId id;
    {
      std::lock_guard lock(mu_);
      id = ++next_;
      timers_.emplace(id, state);
    }
    net::post(strand_, [this, id, state, delay] {
      state->timer.expires_after(delay);
      state->timer.async_wait([this, id, state](const boost::system::error_code& ec) {
        bool mine;
        {
          std::lock_guard lock(mu_);
          mine = timers_.erase(id) > 0;
        }
        if (mine && !ec) state->task();
      });
    });
    return id;
  }

  bool cancel(TimerId id) override {
    std::shared_ptr<State> state;
    {
      std::lock_guard lock(mu_);
      auto it = timers_.find(id);
      if (it == timers_.end()) return false;
      state = std::move(it->second);
      timers_.erase(it);
    }
    net::post(strand_, [state] { state->timer.cancel(); });
    return true;
  }

 private:
  struct State {
    State(net::io_context& ioc, Task t) : timer(ioc), task(std::move(t)) {}
    net::steady_timer timer;
    Task task;
  };
  net::io_context& ioc_;
  net::strand<net::io_context::executor_type> strand_;
  std::mutex mu_;
  TimerId next_ = 0;
  std::unordered_map<TimerId, std::shared_ptr<State>> timers_;
};

}  // namespace

struct Server::Impl {
  Impl(ServerOptions o, Handler& h)
      : options(std::move(o)),
        handler(h),
        context_sessions(std::make_unique<std::atomic<size_t>[]>(std::max(options.threads, 1u))),
        contexts(make_contexts(options.threads)),
        ioc(*contexts.front()),
        acceptor(ioc),
        scheduler(ioc) {
    for (auto& c : contexts) guards.push_back(net::make_work_guard(*c));
  }

  // One io_context per io thread, each run by its thread alone: a connection stays on the
  // context it was accepted into, so its completions never wake another thread (one shared
  // context had the threads signal each other on every request: context switches that cost
  // more than the request itself on a virtual machine). The first context also runs the
  // acceptors and the scheduler's timers and tasks.
  static std::vector<std::unique_ptr<net::io_context>> make_contexts(unsigned threads) {
    std::vector<std::unique_ptr<net::io_context>> out;
    for (unsigned i = 0; i < std::max(threads, 1u); ++i) out.push_back(std::make_unique<net::io_context>(1));
    return out;
  }

  // The index of the next connection's context, in turn.
  size_t next_context() { return next.fetch_add(1, std::memory_order_relaxed) % contexts.size(); }

  ServerOptions options;
  Handler& handler;
  // Counters that sessions update, declared before the contexts: sessions that pending handlers
  // still hold when a context is destroyed count themselves out of them.
  std::unique_ptr<std::atomic<size_t>[]> context_sessions;  // open sessions per context
  std::atomic<size_t> in_flight{0};
  std::atomic<size_t> connections{0};  // open sessions, every listener's
  // The connection whose request began last, and when (CLOCK_MONOTONIC_COARSE, ns) a request last
  // began on a connection other than the one before it (see lone_client).
  std::atomic<const void*> last_requester{nullptr};
  std::atomic<int64_t> switched_at{0};
  std::atomic<bool> draining{false};
  std::vector<std::unique_ptr<net::io_context>> contexts;
  net::io_context& ioc;
  tcp::acceptor acceptor;
  AsioScheduler scheduler;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  std::vector<std::thread> threads;
  std::atomic<size_t> next{0};
  uint16_t port = 0;

  // Further listeners (add_listener), each with its own handler; guarded by listeners_mu.
  struct Listener {
    explicit Listener(net::io_context& ioc, Handler& h) : acceptor(ioc), handler(h) {}
    tcp::acceptor acceptor;
    Handler& handler;
  };
  std::mutex listeners_mu;
  std::vector<std::unique_ptr<Listener>> listeners;
  bool started = false;

  void do_accept(tcp::acceptor& a, Handler& h);
};

namespace {

class Session;

// Streams a request body from the session to the handler in chunks.
class StreamReader final : public BodyReader {
 public:
  StreamReader(std::shared_ptr<Session> s, std::optional<uint64_t> length, std::shared_ptr<char[]> chunk)
      : session_(std::move(s)), length_(length), chunk_(std::move(chunk)) {}
  void read(ChunkHandler handler) override;
  std::optional<uint64_t> content_length() const override { return length_; }

 private:
  std::weak_ptr<Session> session_;
  std::optional<uint64_t> length_;
  std::shared_ptr<char[]> chunk_;  // where the chunks land: kept while the reader lives
};

// A connection's executor: its io thread's context, by its concrete type. No strand: one thread
// runs that context, which serializes the connection's handlers already. Asio's type-erased
// any_io_executor (beast::tcp_stream's) copies a shared, reference-counted target on every
// asynchronous operation.
using ConnectionExecutor = net::io_context::executor_type;
using ConnectionSocket = tcp::socket::rebind_executor<ConnectionExecutor>::other;
using ConnectionStream = beast::basic_stream<tcp, ConnectionExecutor>;

// The coarse monotonic clock (a few nanoseconds through the vDSO; ticks of a few ms are enough
// to tell a lone client from several).
int64_t coarse_now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// While Session::dispatch runs a handler on this thread: where an answer queued meanwhile to this
// thread, to be written after the handler returns, is noted.
thread_local bool* queued_here = nullptr;

// The context of the io thread running here; null on other threads.
thread_local net::io_context* this_io_context = nullptr;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(ConnectionSocket&& socket, Server::Impl& server, Handler& handler, std::atomic<size_t>& neighbours)
      : stream_(std::move(socket)), server_(server), handler_(handler), neighbours_(neighbours) {
    server_.connections.fetch_add(1, std::memory_order_relaxed);
    neighbours_.fetch_add(1, std::memory_order_relaxed);
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  ~Session() {
    neighbours_.fetch_sub(1, std::memory_order_relaxed);
    server_.connections.fetch_sub(1, std::memory_order_relaxed);
  }
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  void run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::do_sniff, shared_from_this()));
  }

  void read_chunk(BodyReader::ChunkHandler handler) {
    net::dispatch(stream_.get_executor(),
                  [self = shared_from_this(), h = std::move(handler)]() mutable { self->do_read_chunk(std::move(h)); });
  }

 private:
  // The first bytes of a connection tell HTTP/1.x from HTTP/2 with prior knowledge (h2c), which
  // goes to its own session (h2_session.cpp).
  void do_sniff() {
    stream_.expires_after(server_.options.idle_timeout);
    stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) {
        self->do_close();
        return;
      }
      self->buffer_.commit(n);
      std::string_view got(static_cast<const char*>(self->buffer_.data().data()), self->buffer_.size());
      std::string_view preface = detail::kH2Preface;
      size_t common = std::min(got.size(), preface.size());
      if (got.substr(0, common) != preface.substr(0, common)) {
        self->do_read_header();
      } else if (got.size() < preface.size()) {
        self->do_sniff();
      } else {
        self->stream_.expires_never();
        detail::H2Limits limits{self->server_.options.max_buffered_body, self->server_.options.idle_timeout};
        detail::serve_h2(self->stream_.release_socket(), std::string(got), self->handler_, limits,
                         self->server_.in_flight, self->remote_);
      }
    });
  }

  void do_read_header() {
    if (server_.draining.load()) {
      do_close();
      return;
    }
    // The parsers of the previous request go first: their fields live in the arena.
    header_parser_.reset();
    string_parser_.reset();
    stream_parser_.reset();
    field_arena_.release();
    header_parser_.emplace(std::piecewise_construct, std::make_tuple(), std::make_tuple(FieldAllocator(&field_arena_)));
    header_parser_->header_limit(static_cast<std::uint32_t>(server_.options.max_header_bytes));
    header_parser_->body_limit(kUnlimited);
    stream_.expires_after(server_.options.idle_timeout);
    bhttp::async_read_header(stream_, buffer_, *header_parser_,
                             beast::bind_front_handler(&Session::on_header, shared_from_this()));
  }

  void on_header(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      do_close();
      return;
    }
    begin_request();
    if (ec) {
      int status = ec == bhttp::error::header_limit ? 431 : 400;
      keep_alive_ = false;
      send(handler_.reject(status, ec.message()));
      return;
    }
    auto& h = header_parser_->get();
    request_ = Request{};
    request_.method = std::string(h.method_string());
    request_.target = std::string(h.target());
    request_.version = h.version();
    request_.remote = remote_;
    request_.headers.entries().reserve(static_cast<size_t>(std::distance(h.begin(), h.end())));
    for (const auto& f : h) {
      request_.headers.add(std::string(f.name_string()), std::string(f.value()));
    }
    keep_alive_ = h.keep_alive();
    head_ = h.method() == bhttp::verb::head;

    if (header_parser_->is_done()) {
      dispatch();
      return;
    }
    auto expect = h[bhttp::field::expect];
    if (!expect.empty() && enc::iequals(expect, "100-continue")) {
      auto self = shared_from_this();
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      stream_.expires_after(server_.options.read_timeout);
      net::async_write(stream_, net::buffer(kContinue), [self](beast::error_code ec, std::size_t) {
        if (ec) {
          self->fail_request();
          return;
        }
        self->after_header();
      });
      return;
    }
    after_header();
  }

  void after_header() {
    // Beast reads at most the buffer's spare capacity per system call (512 bytes when it is
    // nearly empty); give bodies room for 64 KiB reads.
    buffer_.reserve(kBodyReadSize);
    if (handler_.wants_stream(request_)) {
      stream_parser_.emplace(std::move(*header_parser_));
      stream_parser_->body_limit(kUnlimited);
      std::optional<uint64_t> length;
      if (auto cl = stream_parser_->content_length()) length = *cl;
      chunk_.reset(new char[kChunkSize]);
      request_.stream = std::make_shared<StreamReader>(shared_from_this(), length, chunk_);
      dispatch();
      return;
    }
    if (auto cl = header_parser_->content_length(); cl && *cl > server_.options.max_buffered_body) {
      keep_alive_ = false;
      send(handler_.reject(413, "request body too large"));
      return;
    }
    string_parser_.emplace(std::move(*header_parser_));
    string_parser_->body_limit(server_.options.max_buffered_body);
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *string_parser_, beast::bind_front_handler(&Session::on_body, shared_from_this()));
  }

  void on_body(beast::error_code ec, std::size_t) {
    if (ec == bhttp::error::body_limit) {
      keep_alive_ = false;
      send(handler_.reject(413, "request body too large"));
      return;
    }
    if (ec) {
      if (ec == beast::error::timeout || ec == bhttp::error::end_of_stream || ec == net::error::eof ||
          ec == net::error::connection_reset) {
        fail_request();
        return;
      }
      keep_alive_ = false;
      send(handler_.reject(400, ec.message()));
      return;
    }
    request_.body = std::move(string_parser_->get().body());
    dispatch();
  }

  void do_read_chunk(BodyReader::ChunkHandler handler) {
    if (!stream_parser_) {
      handler(false, {});
      return;
    }
    if (stream_parser_->is_done()) {
      handler(true, {});
      return;
    }
    auto& body = stream_parser_->get().body();
    body.data = chunk_.get();
    body.size = kChunkSize;
    stream_.expires_after(server_.options.read_timeout);
    bhttp::async_read(stream_, buffer_, *stream_parser_,
                      [self = shared_from_this(), h = std::move(handler)](beast::error_code ec, std::size_t) mutable {
                        if (ec == bhttp::error::need_buffer) ec = {};
                        if (ec) {
                          self->stream_broken_ = true;
                          h(false, {});
                          return;
                        }
                        size_t got = kChunkSize - self->stream_parser_->get().body().size;
                        if (got == 0 && !self->stream_parser_->is_done()) {
                          self->do_read_chunk(std::move(h));
                          return;
                        }
                        h(true, std::string_view(self->chunk_.get(), got));
                      });
  }

  void begin_request() {
    if (!counted_) {
      counted_ = true;
      server_.in_flight.fetch_add(1);
    }
    if (server_.last_requester.load(std::memory_order_relaxed) != this) {
      server_.last_requester.store(this, std::memory_order_relaxed);
      server_.switched_at.store(coarse_now_ns(), std::memory_order_relaxed);
    }
  }

  void end_request() {
    if (counted_) {
      counted_ = false;
      server_.in_flight.fetch_sub(1);
    }
  }

  void fail_request() {
    end_request();
    do_close();
  }

  void dispatch() {
    stream_.expires_never();
    auto self = shared_from_this();
    // Answers given on this thread are queued behind the work the thread already has in hand
    // when there is some, so that the answers leave together once it is all handled: a client
    // waiting on several connections then wakes once for the lot instead of once per answer, and
    // the thread finds the next requests waiting instead of sleeping between them. Each wake-up
    // of a sleeping process costs a virtual machine more than a small request (ddb_put and
    // sqs_send under 32 connections: 20-30 % more requests/s for 25 % less CPU per request,
    // docs/performance.md). An answer given while a handler runs (a synchronous one) is queued
    // when other connections share the thread (their requests may be ready in the same batch);
    // one given later (a Lambda function's, from its worker's reply) when other requests are in
    // flight. Otherwise it is written at once: a lone client gains nothing from waiting, and a
    // queued invoke answer would also wait for the invocation's log write, queued before it
    // (one-connection invoke p50 +30 us). An answer from another thread is queued to this
    // connection's.
    //
    // The hooks (the store) keep the handler's durable writes in their log buffer meanwhile.
    // A queued answer's send writes the buffer out first (before_answer), and it runs after
    // handle() has returned, so it covers every write the handler made; without one (the answer
    // was written at once, comes later, or goes to a connection of another thread) release()
    // writes the buffer out itself.
    // Nothing in the session is touched after handle() returns.
    AnswerHooks* hooks = server_.options.hooks;
    bool queued = false;
    bool* outer = std::exchange(queued_here, &queued);
    if (hooks) hooks->hold();
    handler_.handle(std::move(request_), [self](Response res) {
      auto write = [self, res = std::move(res)]() mutable { self->send(std::move(res)); };
      auto executor = self->stream_.get_executor();
      bool company = queued_here ? self->neighbours_.load(std::memory_order_relaxed) > 1
                                 : self->server_.in_flight.load(std::memory_order_relaxed) > 1;
      if (company && executor.running_in_this_thread()) {
        if (queued_here) *queued_here = true;
        net::post(executor, std::move(write));
      } else {
        net::dispatch(executor, std::move(write));
      }
    });
    queued_here = outer;
    if (hooks) hooks->release(queued);
  }

  template <class Message>
  void write_message(std::shared_ptr<Message> msg) {
    holder_ = msg;
    bool close = msg->need_eof();
    bhttp::async_write(stream_, *msg,
                       [self = shared_from_this(), close](beast::error_code ec, std::size_t) { self->on_write(close, ec); });
  }

  template <class Message>
  void fill(Message& msg, Response& res, bool keep) {
    for (auto& [k, v] : res.headers.entries()) {
      if (enc::iequals(k, "content-length") || enc::iequals(k, "transfer-encoding") ||
          enc::iequals(k, "connection")) {
        continue;
      }
      msg.insert(k, v);
    }
    msg.keep_alive(keep);
  }

  void send(Response res) {
    if (AnswerHooks* hooks = server_.options.hooks) hooks->before_answer();
    // A streamed request whose body was not read to the end leaves the connection unusable.
    bool unread = stream_parser_ && (!stream_parser_->is_done() || stream_broken_);
    bool keep = keep_alive_ && !res.close && !unread && !server_.draining.load();
    unsigned version = request_.version ? request_.version : 11;
    if (head_) {
      auto msg = std::make_shared<bhttp::response<bhttp::empty_body>>(static_cast<bhttp::status>(res.status), version);
      uint64_t length = res.source ? res.source->size() : res.body.size();
      if (auto cl = res.headers.get("content-length")) length = std::strtoull(std::string(*cl).c_str(), nullptr, 10);
      fill(*msg, res, keep);
      msg->set(bhttp::field::content_length, std::to_string(length));
      write_message(std::move(msg));
    } else if (res.source) {
      auto msg = std::make_shared<bhttp::response<SourceBody>>(static_cast<bhttp::status>(res.status), version);
      fill(*msg, res, keep);
      msg->body() = std::move(res.source);
      msg->prepare_payload();
      stream_.expires_never();
      write_message(std::move(msg));
    } else if (res.status >= 100 && res.status <= 999) {
      write_plain(res, keep, version);
    } else {
      // Not a three-digit status code: left to Beast, as before.
      auto msg = std::make_shared<bhttp::response<bhttp::string_body>>(static_cast<bhttp::status>(res.status), version);
      fill(*msg, res, keep);
      msg->body() = std::move(res.body);
      msg->prepare_payload();
      stream_.expires_after(server_.options.read_timeout);
      write_message(std::move(msg));
    }
  }

  // The common answer, a body held in memory, is serialized here rather than by Beast: the head
  // into a buffer the connection keeps, then head and body go out in one gathered write. Beast's
  // serializer allocated a message and one element per header field and walked a chain of
  // buffer views: several % of a small request's CPU. Same bytes as Beast wrote.
  void write_plain(Response& res, bool keep, unsigned version) {
    std::string& h = out_head_;
    h.clear();
    h += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
    h += std::to_string(res.status);
    h += ' ';
    h += std::string_view(bhttp::obsolete_reason(static_cast<bhttp::status>(res.status)));
    h += "\r\n";
    for (const auto& [k, v] : res.headers.entries()) {
      if (enc::iequals(k, "content-length") || enc::iequals(k, "transfer-encoding") || enc::iequals(k, "connection")) {
        continue;
      }
      append_field(h, k);
      h += ": ";
      append_field(h, v);
      h += "\r\n";
    }
    // Beast's keep_alive(): HTTP/1.1 says "close" when closing, HTTP/1.0 "keep-alive" when not.
    if (version >= 11 && !keep) h += "Connection: close\r\n";
    if (version == 10 && keep) h += "Connection: keep-alive\r\n";
    bool bodiless = res.status == 204 || res.status == 304 || res.status < 200;
    if (bodiless) {
      out_body_.clear();
    } else {
      out_body_ = std::move(res.body);
      h += "Content-Length: ";
      h += std::to_string(out_body_.size());
      h += "\r\n";
    }
    h += "\r\n";
    std::array<net::const_buffer, 2> buffers{net::buffer(out_head_), net::buffer(out_body_)};
    stream_.expires_after(server_.options.read_timeout);
    // All that is left in each send: Asio's default condition (transfer_all) hands the socket at
    // most 64 KiB per call, five sends for a GetRecords answer of 285 KB.
    auto whole = [](const beast::error_code& ec, std::size_t) -> std::size_t {
      return ec ? 0 : std::numeric_limits<std::size_t>::max();
    };
    net::async_write(stream_, buffers, whole,
                     [self = shared_from_this(), close = !keep](beast::error_code ec, std::size_t) {
                       self->on_write(close, ec);
                     });
  }

  // A header name or value as written: a CR or LF (which would end the field) becomes a space.
  static void append_field(std::string& out, std::string_view text) {
    size_t from = out.size();
    out += text;
    for (size_t i = from; i < out.size(); ++i) {
      if (out[i] == '\r' || out[i] == '\n') out[i] = ' ';
    }
  }

  void on_write(bool close, beast::error_code ec) {
    holder_.reset();
    end_request();
    if (ec || close) {
      do_close();
      return;
    }
    do_read_header();
  }

  void do_close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.socket().close(ec);
  }

  ConnectionStream stream_;
  beast::flat_buffer buffer_;
  Server::Impl& server_;
  Handler& handler_;
  std::atomic<size_t>& neighbours_;  // open sessions on this connection's io thread, this one included
  std::string remote_;
  // Beast's parsers keep each header field in a node of their own: those come from an arena in
  // the session, released at the next request, instead of one allocation and free per field.
  using FieldAllocator = std::pmr::polymorphic_allocator<char>;
  template <class Body>
  using Parser = bhttp::request_parser<Body, FieldAllocator>;
  alignas(std::max_align_t) char field_space_[2048];
  std::pmr::monotonic_buffer_resource field_arena_{field_space_, sizeof field_space_};
  std::optional<Parser<bhttp::empty_body>> header_parser_;
  std::optional<Parser<bhttp::string_body>> string_parser_;
  std::optional<Parser<bhttp::buffer_body>> stream_parser_;
  std::shared_ptr<char[]> chunk_;  // a streamed body's chunks; its StreamReader shares it
  std::shared_ptr<void> holder_;
  std::string out_head_;  // write_plain's head and body, kept until the write completes
  std::string out_body_;
  Request request_;
  bool keep_alive_ = true;
  bool head_ = false;
  bool counted_ = false;
  bool stream_broken_ = false;
};

void StreamReader::read(ChunkHandler handler) {
  if (auto s = session_.lock()) {
    s->read_chunk(std::move(handler));
  } else {
    handler(false, {});
  }
}

}  // namespace

void Server::Impl::do_accept(tcp::acceptor& a, Handler& h) {
  size_t index = next_context();
  a.async_accept(contexts[index]->get_executor(), [this, &a, &h, index](beast::error_code ec, ConnectionSocket socket) {
    if (!ec) {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), *this, h, context_sessions[index])->run();
    } else if (ec == net::error::operation_aborted || !a.is_open()) {
      return;
    } else {
      log::warn("accept failed: {}", ec.message());
    }
    if (a.is_open()) do_accept(a, h);
  });
}

namespace {

Status bind_acceptor(tcp::acceptor& a, const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) return Status::invalid_argument("invalid host address '" + host + "'");
  tcp::endpoint ep(address, port);
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return Status::io_error("cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message());
  return Status::ok();
}

}  // namespace

Server::Server(ServerOptions options, Handler& handler) : impl_(std::make_unique<Impl>(std::move(options), handler)) {}

Server::~Server() {
  if (!impl_->threads.empty()) shutdown(std::chrono::milliseconds(0));
}

Status Server::listen() {
  auto& a = impl_->acceptor;
  if (Status st = bind_acceptor(a, impl_->options.host, impl_->options.port); !st.is_ok()) return st;
  impl_->port = a.local_endpoint().port();
  return Status::ok();
}

Result<uint16_t> Server::add_listener(const std::string& host, uint16_t port, Handler& handler) {
  auto l = std::make_unique<Impl::Listener>(impl_->ioc, handler);
  if (Status st = bind_acceptor(l->acceptor, host, port); !st.is_ok()) return st;
  uint16_t bound = l->acceptor.local_endpoint().port();
  std::lock_guard lock(impl_->listeners_mu);
  Impl::Listener* raw = l.get();
  impl_->listeners.push_back(std::move(l));
  if (impl_->started) net::post(impl_->ioc, [this, raw] { impl_->do_accept(raw->acceptor, raw->handler); });
  return bound;
}

uint16_t Server::port() const { return impl_->port; }

void Server::start() {
  impl_->do_accept(impl_->acceptor, impl_->handler);
  {
    std::lock_guard lock(impl_->listeners_mu);
    impl_->started = true;
    for (auto& l : impl_->listeners) impl_->do_accept(l->acceptor, l->handler);
  }
  for (auto& context : impl_->contexts) {
    impl_->threads.emplace_back([context = context.get()] {
      this_io_context = context;
      // A handler that throws must not take the daemon down: log it and keep running.
      for (;;) {
        try {
          context->run();
          return;
        } catch (const std::exception& e) {
          log::error("unhandled exception on an io thread: {}", e.what());
        } catch (...) {
          log::error("unhandled exception on an io thread");
        }
      }
    });
  }
}

void Server::shutdown(std::chrono::milliseconds drain) {
  impl_->draining.store(true);
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
    std::lock_guard lock(impl_->listeners_mu);
    for (auto& l : impl_->listeners) l->acceptor.close(ec);
  });
  auto deadline = std::chrono::steady_clock::now() + drain;
  while (impl_->in_flight.load() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  impl_->guards.clear();
  for (auto& context : impl_->contexts) context->stop();
  for (auto& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
  impl_->threads.clear();
}

Scheduler& Server::scheduler() { return impl_->scheduler; }
std::vector<boost::asio::io_context*> Server::io_contexts() {
  std::vector<boost::asio::io_context*> out;
  for (auto& c : impl_->contexts) out.push_back(c.get());
  return out;
}
size_t Server::in_flight() const { return impl_->in_flight.load(); }
const std::atomic<size_t>& Server::connections() const { return impl_->connections; }
bool Server::lone_client() const {
  // Several coarse ticks (1-4 ms each, by the kernel's HZ) without a request from another connection.
  constexpr int64_t kQuietNs = 10'000'000;
  return impl_->in_flight.load(std::memory_order_relaxed) <= 1 &&
         coarse_now_ns() - impl_->switched_at.load(std::memory_order_relaxed) > kQuietNs;
}

bool defer_on_io_thread(std::function<void()> fn) {
  if (!this_io_context) return false;
  net::post(*this_io_context, std::move(fn));
  return true;
}

}  // namespace sless::http
