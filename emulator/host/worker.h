// Entry points of the processes that run functions, outside the daemon:
//   - the zygote (`sless __zygote <fd>`): started once by the daemon, forks a worker per request;
//   - a worker: loads one plugin and runs its invocations one at a time (worker.cpp).
// Each runs single-threaded in its own process.
#pragma once

#include <string>

namespace sless::host {

struct WorkerSpec {
  std::string plugin_path;  // the snapshot of the plugin file to dlopen
  std::string handler;      // the handler name to run
  int memory_mb = 0;        // the function's MemorySize: caps the worker's address space growth
};

// Runs a worker on a connected socket until the daemon closes it. Returns the exit code.
int run_worker(int fd, const WorkerSpec& spec);

// Runs the zygote on its control socket (SOCK_SEQPACKET) until the daemon closes it.
int run_zygote(int control_fd);

}  // namespace sless::host
