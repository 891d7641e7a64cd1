// Entry points of the processes that run functions, outside the daemon:
//   - the zygote (`sless __zygote <fd>`): started once by the daemon, forks a worker per request;
//   - a worker: loads one plugin and runs its invocations one at a time (worker.cpp).
// Each runs single-threaded in its own process.
#pragma once

#include <cstdint>
#include <string>

namespace sless::host {

struct WorkerSpec {
  std::string plugin_path;  // the snapshot of the plugin file to dlopen
  std::string handler;      // the handler name to run
  int memory_mb = 0;        // the function's MemorySize: caps the worker's address space growth
  int64_t requested_ns = 0; // CLOCK_MONOTONIC when the zygote received the request (reported in the hello)
};

// Sets up what a worker needs before it knows its function (the capture of its output); run_worker
// calls it when nobody did. `ahead`: the process waits for its function (the zygote's spare), so
// it also makes the calls a start-up makes once, binding their symbols before the clock runs.
void prepare_worker(bool ahead = false);

// Runs a worker on a connected socket until the daemon closes it. Returns the exit code.
int run_worker(int fd, const WorkerSpec& spec);

// CLOCK_MONOTONIC in ns: the stamps of a cold start's phases, taken in the zygote and the worker.
int64_t monotonic_ns();

// Runs the zygote on its control socket (SOCK_SEQPACKET) until the daemon closes it.
int run_zygote(int control_fd);

}  // namespace sless::host
