// The zygote: a small single-threaded process that forks workers on request, so that a cold
// start costs a fork and a dlopen instead of an exec of the daemon's binary. It keeps one child
// forked ahead (the spare), waiting for a request: a cold start then wakes the spare instead of
// waiting for a fork and a new process's first time slice; the next spare is forked once the
// zygote has been idle for a moment (off the path of the start it just served).
//
//   daemon ──kSpawn + socket fd──▶ zygote ──(to the spare, or fork)──▶ worker (env, rlimits, run_worker)
//   daemon ◀──kSpawned{id, pid}── zygote ◀──SIGCHLD── worker exits ──▶ kExited{pid, status}
//
// Both the zygote and its workers die with their parent (PR_SET_PDEATHSIG), so a `kill -9` of
// the daemon leaves no process behind.
#include <dlfcn.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <ctime>
#include <set>
#include <string>
#include <vector>

#include "host/wire.h"
#include "host/worker.h"

namespace sless::host {
namespace {

bool send_frame(int fd, const std::string& frame) {
  return ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
}

// Receives one control message and the file descriptor attached to it (or -1).
bool receive(int fd, wire::Frame* frame, int* passed_fd) {
  static std::string buf(256 * 1024, '\0');  // allocated once: a spawn should not fault pages in
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {buf.data(), buf.size()};
  struct msghdr msg {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  if (n <= 0) return false;
  *passed_fd = -1;
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) std::memcpy(passed_fd, CMSG_DATA(c), sizeof(int));
  }
  if (n < 4) return false;
  return wire::decode(std::string_view(buf.data() + 4, static_cast<size_t>(n) - 4), frame);
}

// What a new child does before it knows its function: die with the zygote, default signals,
// the output capture.
void prepare_child(bool ahead) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
  prepare_worker(ahead);
}

[[noreturn]] void become_worker(int worker_fd, const wire::Frame& req, int64_t requested_ns) {
  clearenv();
  std::string env = req.at(wire::kSpawnEnv);
  size_t start = 0;
  while (start < env.size()) {
    size_t nl = env.find('\n', start);
    std::string line = env.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    auto eq = line.find('=');
    if (eq != std::string::npos && eq > 0) setenv(line.substr(0, eq).c_str(), line.substr(eq + 1).c_str(), 1);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  WorkerSpec spec;
  spec.plugin_path = req.at(wire::kSpawnPlugin);
  spec.handler = req.at(wire::kSpawnHandler);
  spec.memory_mb = std::atoi(req.at(wire::kSpawnMemoryMb).c_str());
  spec.requested_ns = requested_ns;
  _exit(run_worker(worker_fd, spec));
}

// The child forked ahead: its parent keeps `fd`, the other end of the socket it waits on.
struct Spare {
  pid_t pid = -1;
  int fd = -1;
};

Spare fork_spare(int control, int sigfd) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return {};
  pid_t zygote = getpid();
  pid_t pid = fork();
  if (pid == 0) {
    close(sv[0]);
    close(control);
    close(sigfd);
    prepare_child(/*ahead=*/true);
    if (getppid() != zygote) _exit(0);  // the zygote died before the death signal was armed
    wire::Frame req;
    int worker_fd = -1;
    if (!receive(sv[1], &req, &worker_fd) || req.type != wire::Type::kSpawn || worker_fd < 0) _exit(0);
    close(sv[1]);
    // The zygote appends the time it received the request.
    int64_t requested_ns = std::strtoll(req.at(wire::kSpawnFieldCount).c_str(), nullptr, 10);
    become_worker(worker_fd, req, requested_ns);
  }
  close(sv[1]);
  if (pid < 0) {
    close(sv[0]);
    return {};
  }
  return {pid, sv[0]};
}

void drop_spare(Spare& spare) {
  if (spare.fd >= 0) close(spare.fd);  // the spare reads EOF and exits
  spare = {};
}

// How long the zygote waits idle before it forks the next spare, and before it tries again when
// a fork failed (out of processes or memory: forking stays possible for real requests).
constexpr int kSpareDelayMs = 5;
constexpr int kSpareRetryMs = 1000;

// Plugins built with g++ need the shared C++ runtime, which the daemon's binary does not load (it
// carries its own copy, linked statically). Loading and relocating it once here, before any fork,
// spares every cold start that work: a dlopen of a small plugin then takes about 1 ms instead of
// 10-15. A runtime that is missing is not an error here; the plugin's own dlopen reports it.
void preload_runtime() {
  for (const char* name : {"libstdc++.so.6", "libgcc_s.so.1"}) {
    if (dlopen(name, RTLD_NOW | RTLD_LOCAL) == nullptr) dlerror();
  }
}

}  // namespace

int run_zygote(int control) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0;  // the daemon is already gone
  preload_runtime();
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  std::set<pid_t> children;
  Spare spare;
  int spare_delay_ms = kSpareDelayMs;

  for (;;) {
    struct pollfd fds[2] = {{control, POLLIN, 0}, {sigfd, POLLIN, 0}};
    int ready = poll(fds, 2, spare.pid > 0 ? -1 : spare_delay_ms);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (ready == 0) {
      spare = fork_spare(control, sigfd);
      if (spare.pid > 0) children.insert(spare.pid);
      spare_delay_ms = spare.pid > 0 ? kSpareDelayMs : kSpareRetryMs;
      continue;
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        children.erase(pid);
        if (pid == spare.pid) drop_spare(spare);
        send_frame(control, wire::encode(wire::Type::kExited, {std::to_string(pid), std::to_string(status)}));
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      wire::Frame req;
      int worker_fd = -1;
      if (!receive(control, &req, &worker_fd)) break;  // the daemon went away
      int64_t requested_ns = monotonic_ns();
      if (req.type != wire::Type::kSpawn || worker_fd < 0) {
        if (worker_fd >= 0) close(worker_fd);
        continue;
      }
      pid_t pid = -1;
      if (spare.pid > 0) {
        std::vector<std::string> fields = req.fields;
        fields.resize(wire::kSpawnFieldCount);
        fields.push_back(std::to_string(requested_ns));
        if (wire::send_with_fd(spare.fd, wire::encode(wire::Type::kSpawn, fields), worker_fd)) {
          pid = spare.pid;
        } else {
          kill(spare.pid, SIGKILL);
        }
        drop_spare(spare);
      }
      if (pid < 0) {
        pid = fork();
        if (pid == 0) {
          close(control);
          close(sigfd);
          prepare_child(/*ahead=*/false);
          become_worker(worker_fd, req, requested_ns);
        }
      }
      close(worker_fd);
      if (pid < 0) {
        send_frame(control, wire::encode(wire::Type::kSpawned, {req.at(wire::kSpawnRequestId), "error",
                                                                 std::string("fork failed: ") + std::strerror(errno)}));
      } else {
        children.insert(pid);
        send_frame(control, wire::encode(wire::Type::kSpawned, {req.at(wire::kSpawnRequestId), std::to_string(pid)}));
      }
    }
  }
  for (pid_t pid : children) kill(pid, SIGKILL);
  return 0;
}

}  // namespace sless::host
