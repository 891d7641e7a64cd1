// The launcher: the daemon's side of the zygote. Starts the zygote on first use (the sless
// binary run as `sless __zygote`), asks it for workers, and reports when they exit.
// Thread-safe; callbacks run on the launcher's reader thread and must not block.
#pragma once

#include <functional>
#include <memory>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "host/worker.h"

namespace sless::host {

class Launcher {
 public:
  struct Spawned {
    int pid = 0;
    int fd = -1;  // the daemon's end of the worker's socket; the receiver owns it
  };
  using SpawnDone = std::function<void(Result<Spawned>)>;
  using ExitFn = std::function<void(int wait_status)>;

  // `binary`: the sless executable to run as the zygote.
  explicit Launcher(std::string binary);
  ~Launcher();
  Launcher(const Launcher&) = delete;
  Launcher& operator=(const Launcher&) = delete;

  // Asks for a worker running `spec` with exactly `env` as its environment.
  // `on_exit` is called with the wait status when that worker exits.
  void spawn(const WorkerSpec& spec, const std::vector<std::string>& env, SpawnDone done, ExitFn on_exit);

  // Starts the zygote now (it otherwise starts on the first spawn).
  Status warm_up();

 private:
  struct Pending {
    SpawnDone done;
    ExitFn on_exit;
    int daemon_fd = -1;
  };
  Status start_locked();
  // posix_spawn of the zygote runs on this thread: a child's PR_SET_PDEATHSIG fires when the
  // *thread* that created it ends, so the zygote's creator must live as long as the launcher.
  void spawner_loop();
  Status spawn_zygote(int child_fd, int* pid);
  void reader_loop(int control);
  void fail_all(const std::string& why);

  std::string binary_;
  std::mutex mu_;
  int control_ = -1;
  int zygote_pid_ = 0;
  bool closing_ = false;
  uint64_t next_id_ = 0;
  std::thread reader_;
  std::thread spawner_;
  std::condition_variable spawn_cv_;
  bool spawn_requested_ = false;
  bool spawn_done_ = false;
  bool starting_ = false;  // a caller is starting the zygote; others wait on spawn_cv_
  int spawn_fd_ = -1;
  int spawn_pid_ = 0;
  Status spawn_status_;
  bool spawner_stop_ = false;
  std::unordered_map<std::string, Pending> pending_;
  std::unordered_map<int, ExitFn> exits_;
};

}  // namespace sless::host
