// The HTTP/1.1 server: a Beast listener and one session per connection, each on its own strand,
// on one of the io threads, each of which runs an io_context of its own (connections are dealt to
// them in turn). Keep-alive, Content-Length and chunked bodies, Expect: 100-continue, body limits,
// idle and read timeouts, streamed bodies both ways.
// The Server owns its io threads; Handler calls arrive on them. Start/stop from one thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/result.h"
#include "core/scheduler.h"
#include "http/message.h"

namespace boost::asio {
class io_context;
}

namespace sless::http {

class Handler {
 public:
  using Respond = std::function<void(Response)>;
  virtual ~Handler() = default;
  // Called with a request whose header has arrived and whose body has not: true when the body
  // should reach handle() as a stream (Request::stream) rather than whole (Request::body).
  virtual bool wants_stream(const Request& header) = 0;
  // Handles one request. `respond` must be called exactly once, from any thread.
  virtual void handle(Request request, Respond respond) = 0;
  // An answer for a request the server itself rejects before handle() (malformed, too large).
  virtual Response reject(int status, std::string_view reason) = 0;
};

// Calls around the handling of requests and the writing of answers, made on the io threads. The
// daemon's store uses them to write the log records of a batch of requests out once, before
// their answers leave (storage::Store::hold_log).
class AnswerHooks {
 public:
  virtual ~AnswerHooks() = default;
  // A request is about to be handed to its handler on this thread.
  virtual void hold() = 0;
  // The handler returned. answer_queued: an answer was given meanwhile, and before_answer() will
  // run before it is written; false: nothing is on its way that would.
  virtual void release(bool answer_queued) = 0;
  // An answer is about to be written.
  virtual void before_answer() = 0;
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  unsigned threads = 1;
  size_t max_buffered_body = 20u * 1024 * 1024;
  size_t max_header_bytes = 64u * 1024;
  std::chrono::seconds idle_timeout{120};
  std::chrono::seconds read_timeout{60};
  AnswerHooks* hooks = nullptr;  // optional; outlives the server
};

class Server {
 public:
  Server(ServerOptions options, Handler& handler);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds and listens. After success port() tells the bound port.
  Status listen();
  uint16_t port() const;
  // Listens on one more address with its own handler (the API Gateway's own ports), served by
  // the same io threads. Before or after start(); closed by shutdown(). Returns the bound port.
  Result<uint16_t> add_listener(const std::string& host, uint16_t port, Handler& handler);
  // Starts the io threads (returns at once).
  void start();
  // Stops accepting, waits up to `drain` for requests in flight, then stops the io threads.
  void shutdown(std::chrono::milliseconds drain);
  // Timers and deferred work on the server's io threads.
  Scheduler& scheduler();
  // Every io thread's context, one per thread (for other I/O that should share the io threads).
  std::vector<boost::asio::io_context*> io_contexts();
  // Requests between header arrival and the end of their response.
  size_t in_flight() const;
  // Open connections, on every listener.
  const std::atomic<size_t>& connections() const;
  // Whether the server has a lone client: at most one request in flight, and every request
  // that began in the last few milliseconds came on one connection. Idle keep-alive connections
  // (an SDK's pool) do not count; clients taking turns on several connections do.
  bool lone_client() const;

  struct Impl;  // defined in server.cpp

 private:
  std::unique_ptr<Impl> impl_;
};

// Runs `fn` later on the calling io thread, after the completions that thread already has in hand
// (other connections' reads that arrived in the same wake-up), so that work can be gathered across
// connections and done once (S3 hashes the chunks of concurrent uploads together). Returns false,
// and does nothing, when the caller is not on an io thread.
bool defer_on_io_thread(std::function<void()> fn);

}  // namespace sless::http
