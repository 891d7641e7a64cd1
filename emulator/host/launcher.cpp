#include "host/launcher.h"

#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "core/log.h"
#include "host/wire.h"

extern char** environ;

namespace sless::host {

Launcher::Launcher(std::string binary) : binary_(std::move(binary)) {}

void Launcher::spawner_loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    spawn_cv_.wait(lock, [this] { return spawn_requested_ || spawner_stop_; });
    if (spawner_stop_) return;
    spawn_requested_ = false;
    int pid = 0;
    spawn_status_ = spawn_zygote(spawn_fd_, &pid);
    spawn_pid_ = pid;
    spawn_done_ = true;
    spawn_cv_.notify_all();
  }
}

Status Launcher::spawn_zygote(int child_fd, int* pid_out) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, child_fd, 3);
  // Nothing else of the daemon's crosses over: Asio's sockets are not close-on-exec, and a worker
  // holding a client connection's fd would keep it open after the daemon closed it (the client
  // would then send its next request into a socket nobody reads).
  posix_spawn_file_actions_addclosefrom_np(&actions, 4);
  std::string fd_arg = "3";
  char* argv[] = {binary_.data(), const_cast<char*>("__zygote"), fd_arg.data(), nullptr};
  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary_.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return Status::io_error("cannot start the function zygote " + binary_ + ": " + std::strerror(rc));
  *pid_out = pid;
  return Status::ok();
}

Launcher::~Launcher() {
  int control;
  int pid;
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    control = control_;
    pid = zygote_pid_;
    control_ = -1;
  }
  if (control >= 0) shutdown(control, SHUT_RDWR);  // the zygote sees EOF, kills its workers, exits
  if (reader_.joinable()) reader_.join();
  if (control >= 0) close(control);
  if (pid > 0) {
    int status;
    waitpid(pid, &status, 0);
  }
  {
    std::lock_guard lock(mu_);
    spawner_stop_ = true;
  }
  spawn_cv_.notify_all();
  if (spawner_.joinable()) spawner_.join();
}

Status Launcher::warm_up() {
  std::lock_guard lock(mu_);
  return start_locked();
}

Status Launcher::start_locked() {
  if (control_ >= 0) return Status::ok();
  if (starting_) {
    // Another caller is starting the zygote (the wait below releases mu_): wait for its outcome.
    std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
    spawn_cv_.wait(lock, [this] { return !starting_ || spawner_stop_; });
    lock.release();
    return control_ >= 0 ? Status::ok() : Status::aborted("the zygote did not start");
  }
  if (reader_.joinable()) reader_.join();  // a previous zygote's reader has ended
  starting_ = true;
  struct Started {
    Launcher* self;
    ~Started() {
      self->starting_ = false;
      self->spawn_cv_.notify_all();
    }
  } started{this};
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) {
    return Status::io_error(std::string("socketpair: ") + std::strerror(errno));
  }
  // The spawner thread starts with the first zygote (an idle daemon runs no extra thread).
  if (!spawner_.joinable()) spawner_ = std::thread([this] { spawner_loop(); });
  // mu_ is held by the caller; the spawner thread takes it while waiting on the condition.
  std::unique_lock<std::mutex> lock(mu_, std::adopt_lock);
  spawn_fd_ = sv[1];
  spawn_done_ = false;
  spawn_requested_ = true;
  spawn_cv_.notify_all();
  spawn_cv_.wait(lock, [this] { return spawn_done_ || spawner_stop_; });
  lock.release();
  close(sv[1]);
  if (!spawn_done_ || !spawn_status_.is_ok()) {
    close(sv[0]);
    return spawn_done_ ? spawn_status_ : Status::aborted("the launcher is closing");
  }
  int pid = spawn_pid_;
  control_ = sv[0];
  zygote_pid_ = pid;
  reader_ = std::thread([this, c = sv[0]] { reader_loop(c); });
  return Status::ok();
}

void Launcher::spawn(const WorkerSpec& spec, const std::vector<std::string>& env, SpawnDone done, ExitFn on_exit) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    done(Status::io_error(std::string("socketpair: ") + std::strerror(errno)));
    return;
  }
  std::string env_text;
  for (const auto& e : env) env_text.append(e).push_back('\n');
  std::unique_lock lock(mu_);
  if (Status st = start_locked(); !st.is_ok()) {
    lock.unlock();
    close(sv[0]);
    close(sv[1]);
    done(st);
    return;
  }
  std::string id = std::to_string(++next_id_);
  std::string frame = wire::encode(wire::Type::kSpawn, {id, spec.plugin_path, spec.handler, env_text,
                                                        std::to_string(spec.memory_mb)});
  pending_[id] = Pending{std::move(done), std::move(on_exit), sv[0]};
  bool sent = wire::send_with_fd(control_, frame, sv[1]);
  close(sv[1]);
  if (!sent) {
    Pending p = std::move(pending_[id]);
    pending_.erase(id);
    lock.unlock();
    close(p.daemon_fd);
    p.done(Status::io_error(std::string("cannot reach the function zygote: ") + std::strerror(errno)));
  }
}

void Launcher::reader_loop(int control) {
  std::string buf(64 * 1024, '\0');
  for (;;) {
    ssize_t n = recv(control, buf.data(), buf.size(), 0);
    if (n <= 4) break;
    wire::Frame f;
    if (!wire::decode(std::string_view(buf.data() + 4, static_cast<size_t>(n) - 4), &f)) continue;
    if (f.type == wire::Type::kSpawned) {
      std::unique_lock lock(mu_);
      auto it = pending_.find(f.at(0));
      if (it == pending_.end()) continue;
      Pending p = std::move(it->second);
      pending_.erase(it);
      if (f.at(1) == "error") {
        lock.unlock();
        close(p.daemon_fd);
        p.done(Status::io_error(f.at(2)));
        continue;
      }
      int pid = std::atoi(f.at(1).c_str());
      exits_[pid] = std::move(p.on_exit);
      lock.unlock();
      p.done(Spawned{pid, p.daemon_fd});
    } else if (f.type == wire::Type::kExited) {
      int pid = std::atoi(f.at(0).c_str());
      ExitFn fn;
      {
        std::lock_guard lock(mu_);
        auto it = exits_.find(pid);
        if (it == exits_.end()) continue;
        fn = std::move(it->second);
        exits_.erase(it);
      }
      if (fn) fn(std::atoi(f.at(1).c_str()));
    }
  }
  // The zygote is gone (or we are shutting down): its workers died with it.
  fail_all("the function zygote exited");
}

void Launcher::fail_all(const std::string& why) {
  std::unordered_map<std::string, Pending> pending;
  std::unordered_map<int, ExitFn> exits;
  int pid = 0;
  {
    std::lock_guard lock(mu_);
    pending.swap(pending_);
    exits.swap(exits_);
    if (control_ >= 0) {
      close(control_);
      control_ = -1;
    }
    pid = zygote_pid_;
    zygote_pid_ = 0;
  }
  if (pid > 0) {
    int status;
    waitpid(pid, &status, WNOHANG);
  }
  for (auto& [_, p] : pending) {
    close(p.daemon_fd);
    p.done(Status::io_error(why));
  }
  for (auto& [_, fn] : exits) {
    if (fn) fn(SIGKILL);  // reported as killed
  }
  bool closing;
  {
    std::lock_guard lock(mu_);
    closing = closing_;
  }
  if (!closing && (!pending.empty() || !exits.empty())) log::warn("{}", why);
}

}  // namespace sless::host
