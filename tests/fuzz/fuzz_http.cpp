// fuzz_http: http::Server's request parsing, through a real loopback socket. One server with a
// trivial handler is started on first use (127.0.0.1, port 0, one io thread, small limits so
// that inputs reach them) and lives until the process exits. For each input:
//
//   connect ──▶ write the input ──▶ half-close ──▶ read until the server closes (≤ 200 ms)
//           ──▶ GET /_sless/health on a new connection must answer 200: the server is alive
//
// Targets under /stream are read as streamed bodies (Request::stream), all others buffered.
// Sockets close with SO_LINGER 0, so that thousands of runs leave no TIME_WAIT ports behind.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "fuzz_target.h"
#include "http/server.h"

namespace {

using namespace sless;
using Clock = std::chrono::steady_clock;

class EchoHandler final : public http::Handler {
 public:
  bool wants_stream(const http::Request& header) override { return header.target.rfind("/stream", 0) == 0; }

  void handle(http::Request request, Respond respond) override {
    if (request.stream) {
      drain(request.stream, std::make_shared<size_t>(0), std::move(respond));
      return;
    }
    http::Response res;
    res.headers.add("Content-Type", "text/plain");
    res.body = request.method + " " + std::to_string(request.body.size());
    respond(std::move(res));
  }

  http::Response reject(int status, std::string_view reason) override {
    http::Response res;
    res.status = status;
    res.body = std::string(reason);
    res.close = true;
    return res;
  }

 private:
  static void drain(std::shared_ptr<http::BodyReader> reader, std::shared_ptr<size_t> total, Respond respond) {
    reader->read([reader, total, respond = std::move(respond)](bool ok, std::string_view chunk) mutable {
      if (ok && !chunk.empty()) {
        *total += chunk.size();
        drain(std::move(reader), std::move(total), std::move(respond));
        return;
      }
      http::Response res;
      res.status = ok ? 200 : 400;
      res.body = std::to_string(*total);
      respond(std::move(res));
    });
  }
};

struct Fixture {
  EchoHandler handler;
  std::unique_ptr<http::Server> server;
};

uint16_t server_port() {
  static Fixture* fixture = [] {
    auto* f = new Fixture;  // lives until exit: the io thread must never see it destroyed
    http::ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    options.max_buffered_body = 4096;
    options.max_header_bytes = 2048;
    options.idle_timeout = std::chrono::seconds(1);
    options.read_timeout = std::chrono::seconds(1);
    f->server = std::make_unique<http::Server>(options, f->handler);
    FUZZ_CHECK(f->server->listen().is_ok());
    f->server->start();
    return f;
  }();
  return fixture->server->port();
}

// A connection to the server. A refused or timed-out connect (a loaded machine, ephemeral ports
// still held by earlier runs' connections) is retried for up to 5 s before the run fails, with
// errno in the message: the target is after the server's faults, not the harness's.
int connect_loopback(uint16_t port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int last_errno = 0;
  for (int attempt = 0; attempt < 250; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    timeval tv{0, 200 * 1000};
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    last_errno = errno;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::fprintf(stderr, "connect to 127.0.0.1:%u kept failing: %s\n", port, std::strerror(last_errno));
  std::abort();
}

void close_hard(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Reads until the peer closes or `budget` runs out; returns what arrived.
std::string read_until_close(int fd, std::chrono::milliseconds budget) {
  std::string got;
  auto deadline = Clock::now() + budget;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got.append(buf, static_cast<size_t>(n));
  }
  return got;
}

void send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the server closed early (a rejected request) or stopped reading
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

SLESS_FUZZ_TARGET(http) {
  uint16_t port = server_port();
  int fd = connect_loopback(port);
  send_all(fd, std::string_view(reinterpret_cast<const char*>(data), size));
  ::shutdown(fd, SHUT_WR);
  (void)read_until_close(fd, std::chrono::milliseconds(200));
  close_hard(fd);

  int health = connect_loopback(port);
  send_all(health, "GET /_sless/health HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n");
  std::string answer = read_until_close(health, std::chrono::milliseconds(5000));
  close_hard(health);
  FUZZ_CHECK(answer.rfind("HTTP/1.1 200 ", 0) == 0);
  return 0;
}
