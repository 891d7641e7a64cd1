// The zygote: a small single-threaded process that forks workers on request, so that a cold
// start costs a fork and a dlopen instead of an exec of the daemon's binary.
//
//   daemon ──kSpawn + socket fd──▶ zygote ──fork──▶ worker (env set, rlimits, run_worker)
//   daemon ◀──kSpawned{id, pid}── zygote ◀──SIGCHLD── worker exits ──▶ kExited{pid, status}
//
// Both the zygote and its workers die with their parent (PR_SET_PDEATHSIG), so a `kill -9` of
// the daemon leaves no process behind.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>

#include "host/wire.h"
#include "host/worker.h"

namespace sless::host {
namespace {

bool send_frame(int fd, const std::string& frame) {
  return ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(frame.size());
}

// Receives one control message and the file descriptor attached to it (or -1).
bool receive(int fd, wire::Frame* frame, int* passed_fd) {
  std::string buf(256 * 1024, '\0');
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

[[noreturn]] void become_worker(int worker_fd, const wire::Frame& req) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGCHLD, SIG_DFL);
  signal(SIGPIPE, SIG_DFL);
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
  _exit(run_worker(worker_fd, spec));
}

}  // namespace

int run_zygote(int control) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 0;  // the daemon is already gone
  signal(SIGPIPE, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, nullptr);
  int sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  std::set<pid_t> children;

  for (;;) {
    struct pollfd fds[2] = {{control, POLLIN, 0}, {sigfd, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
      }
      int status = 0;
      pid_t pid;
      while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        children.erase(pid);
        send_frame(control, wire::encode(wire::Type::kExited, {std::to_string(pid), std::to_string(status)}));
      }
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      wire::Frame req;
      int worker_fd = -1;
      if (!receive(control, &req, &worker_fd)) break;  // the daemon went away
      if (req.type != wire::Type::kSpawn || worker_fd < 0) {
        if (worker_fd >= 0) close(worker_fd);
        continue;
      }
      pid_t pid = fork();
      if (pid == 0) {
        close(control);
        close(sigfd);
        become_worker(worker_fd, req);
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
