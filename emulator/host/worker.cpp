// The worker process: loads one plugin, then runs invocations sent by the daemon one at a time.
//
//   daemon ──kInvoke──▶ worker ── handler(...) ──▶ kResult (payload, error, captured output)
//                          │  the handler may call services: kCall ──▶ daemon ──▶ kCallResult
//
// The function's stdout and stderr go to a memfd that is read back after each invocation, so
// the log of an invocation is complete and in order when its result is sent.
#include "host/worker.h"

#include <dlfcn.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

#include "sless/function_abi.h"
#include "host/wire.h"

namespace sless::host {
namespace {

// Reads frames from the daemon's socket through a buffer: a small frame costs one read().
class FrameReader {
 public:
  explicit FrameReader(int fd) : fd_(fd), buf_(64 * 1024) {}
  bool next(wire::Frame* out) {
    for (;;) {
      size_t avail = end_ - begin_;
      size_t need = 4;
      if (avail >= 4) {
        uint32_t len = wire::body_length(buf_.data() + begin_);
        if (len > wire::kMaxFrameBytes) return false;
        need = 4 + static_cast<size_t>(len);
        if (avail >= need) {
          bool ok = wire::decode(std::string_view(buf_.data() + begin_ + 4, len), out);
          begin_ += need;
          if (begin_ == end_) begin_ = end_ = 0;
          return ok;
        }
      }
      if (buf_.size() - begin_ < need) {  // move the partial frame to the front, grow for it
        std::copy(buf_.begin() + static_cast<long>(begin_), buf_.begin() + static_cast<long>(end_), buf_.begin());
        end_ -= begin_;
        begin_ = 0;
        if (buf_.size() < need) buf_.resize(need);
      }
      // Sleep in poll() for POLLIN rather than in read(): a read()'s sleep on a unix socket is woken
      // by every wake-up of the socket's queue, including the one the daemon's read of our last
      // frame makes (write space: EPOLLOUT), while poll()'s wait only wakes for the events asked.
      // That spurious wake-up cost a context switch per frame the daemon read.
      struct pollfd pfd{fd_, POLLIN, 0};
      if (::poll(&pfd, 1, -1) < 0) {
        if (errno == EINTR) continue;
        return false;
      }
      ssize_t n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      end_ += static_cast<size_t>(n);
    }
  }

 private:
  int fd_;
  std::vector<char> buf_;
  size_t begin_ = 0;  // unread bytes are [begin_, end_)
  size_t end_ = 0;
};

struct WorkerState {
  int fd = -1;
  FrameReader* reader = nullptr;
  int log_fd = -1;
  off_t log_read = 0;
  const sless_invocation* current = nullptr;
  // Buffers handed to the plugin by call_service; valid until the next call.
  std::string call_response;
  std::string call_code;
  std::string call_message;
  bool broken = false;  // the daemon connection failed mid-invocation
};

WorkerState g_worker;

void host_log(void* ctx, sless_buffer line) {
  auto* w = static_cast<WorkerState*>(ctx);
  std::fflush(stdout);
  std::fflush(stderr);
  std::string text(line.ptr ? line.ptr : "", line.len);
  if (text.empty() || text.back() != '\n') text.push_back('\n');
  wire::write_all(w->log_fd, text);
}

int64_t host_remaining(void* ctx) {
  auto* w = static_cast<WorkerState*>(ctx);
  if (!w->current) return 0;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  int64_t now = static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
  return w->current->deadline_ms - now;
}

sless_status host_call(void* ctx, sless_buffer service, sless_buffer op, sless_buffer request, sless_buffer* response,
                       sless_buffer* code, sless_buffer* message) {
  auto* w = static_cast<WorkerState*>(ctx);
  auto view = [](sless_buffer b) { return std::string_view(b.ptr ? b.ptr : "", b.len); };
  auto out = [](const std::string& s) { return sless_buffer{s.data(), s.size()}; };
  w->call_response.clear();
  w->call_code.clear();
  w->call_message.clear();
  sless_status status = SLESS_HOST_ERROR;
  wire::Frame reply;
  if (!w->broken && wire::write_all(w->fd, wire::encode(wire::Type::kCall, {view(service), view(op), view(request)})) &&
      w->reader->next(&reply) && reply.type == wire::Type::kCallResult) {
    const std::string& st = reply.at(0);
    status = st == "ok" ? SLESS_OK : st == "service_error" ? SLESS_SERVICE_ERROR : SLESS_HOST_ERROR;
    w->call_response = reply.at(1);
    w->call_code = reply.at(2);
    w->call_message = reply.at(3);
  } else {
    w->broken = true;
    w->call_message = "the connection to the sless daemon was lost";
  }
  if (response) *response = out(w->call_response);
  if (code) *code = out(w->call_code);
  if (message) *message = out(w->call_message);
  return status;
}

std::string drain_log(WorkerState& w) {
  std::fflush(stdout);
  std::fflush(stderr);
  off_t end = lseek(w.log_fd, 0, SEEK_END);
  std::string out;
  if (end <= 0) return out;  // nothing written since the last drain: nothing to reset either
  if (end > w.log_read) {
    out.resize(static_cast<size_t>(end - w.log_read));
    ssize_t n = pread(w.log_fd, out.data(), out.size(), w.log_read);
    out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  }
  // Start afresh so that the memfd does not grow with the worker's lifetime.
  if (ftruncate(w.log_fd, 0) == 0) lseek(w.log_fd, 0, SEEK_SET);
  w.log_read = 0;
  return out;
}

long max_rss_kb() {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

long vm_size_bytes() {
  FILE* f = std::fopen("/proc/self/statm", "r");
  long pages = 0;
  if (f) {
    if (std::fscanf(f, "%ld", &pages) != 1) pages = 0;
    std::fclose(f);
  }
  return pages * sysconf(_SC_PAGESIZE);
}

bool hello_error(int fd, const std::string& message) {
  wire::write_all(fd, wire::encode(wire::Type::kHello, {"error", message}));
  return false;
}

}  // namespace

int64_t monotonic_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

void prepare_worker(bool ahead) {
  WorkerState& w = g_worker;
  if (ahead) {
    setenv("SLESS_SPARE", "1", 1);
    clearenv();
    dlerror();
    if (void* self = dlopen(nullptr, RTLD_NOW)) dlclose(self);
    if (vm_size_bytes() > 0 && max_rss_kb() < 0) std::abort();  // the calls matter, not the values
  }
  if (w.log_fd >= 0) return;
  // Capture the function's output.
  w.log_fd = memfd_create("sless-function-log", 0);
  if (w.log_fd >= 0) {
    dup2(w.log_fd, STDOUT_FILENO);
    dup2(w.log_fd, STDERR_FILENO);
    setvbuf(stdout, nullptr, _IOLBF, 0);
  }
}

int run_worker(int fd, const WorkerSpec& spec) {
  int64_t running_ns = monotonic_ns();
  WorkerState& w = g_worker;
  w.fd = fd;
  prepare_worker();

  void* lib = dlopen(spec.plugin_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) return hello_error(fd, std::string("Runtime.InvalidEntrypoint: cannot load plugin: ") + dlerror()), 1;
  auto entry = reinterpret_cast<sless_plugin_entry_fn>(dlsym(lib, SLESS_PLUGIN_ENTRY_SYMBOL));
  if (!entry) {
    return hello_error(fd, "Runtime.InvalidEntrypoint: " + spec.plugin_path + " does not export " +
                               SLESS_PLUGIN_ENTRY_SYMBOL + " (build it with sless_add_function)"),
           1;
  }
  const sless_plugin* plugin = entry(SLESS_ABI_VERSION);
  if (!plugin || plugin->struct_size < offsetof(sless_plugin, handlers) + sizeof(plugin->handlers)) {
    return hello_error(fd, "Runtime.InvalidEntrypoint: the plugin returned no valid descriptor"), 1;
  }
  if (plugin->abi_version < SLESS_ABI_MIN_VERSION || plugin->abi_version > SLESS_ABI_VERSION) {
    return hello_error(fd, "Runtime.InvalidEntrypoint: the plugin was built for sless function ABI v" +
                               std::to_string(plugin->abi_version) + "; this sless loads ABI v" +
                               std::to_string(SLESS_ABI_MIN_VERSION) + " to v" + std::to_string(SLESS_ABI_VERSION)),
           1;
  }
  int64_t loaded_ns = monotonic_ns();
  sless_handler_fn handler = nullptr;
  std::string names;
  for (uint32_t i = 0; i < plugin->handler_count; ++i) {
    const char* n = plugin->handlers[i].name ? plugin->handlers[i].name : "";
    names += (i ? "\n" : "") + std::string(n);
    if (spec.handler == n) handler = plugin->handlers[i].fn;
  }
  if (!handler) {
    std::string list = names;
    for (char& c : list) c = c == '\n' ? ',' : c;
    return hello_error(fd, "Runtime.HandlerNotFound: the plugin exports no handler named '" + spec.handler +
                               "' (it exports: " + (list.empty() ? "none" : list) + ")"),
           1;
  }
  if (spec.memory_mb > 0) {
    // The function's memory setting caps what it may map beyond what is mapped now.
    struct rlimit lim;
    lim.rlim_cur = lim.rlim_max = static_cast<rlim_t>(vm_size_bytes()) + static_cast<rlim_t>(spec.memory_mb) * 1024 * 1024;
    setrlimit(RLIMIT_AS, &lim);
  }
  std::string init_log = drain_log(w);
  std::string timings = std::to_string(spec.requested_ns) + " " + std::to_string(running_ns) + " " +
                        std::to_string(loaded_ns) + " " + std::to_string(monotonic_ns());
  if (!wire::write_all(fd, wire::encode(wire::Type::kHello, {"ok", plugin->plugin_name ? plugin->plugin_name : "",
                                                             std::to_string(plugin->abi_version), names, init_log,
                                                             timings}))) {
    return 1;
  }

  sless_host_api api{};
  api.struct_size = sizeof(api);
  api.abi_version = SLESS_ABI_VERSION;
  api.host_ctx = &w;
  api.log = &host_log;
  api.remaining_time_ms = &host_remaining;
  api.call_service = &host_call;

  FrameReader reader(fd);
  w.reader = &reader;
  wire::Frame frame;
  while (reader.next(&frame)) {
    if (frame.type != wire::Type::kInvoke || frame.fields.size() < wire::kInvFieldCount) continue;
    auto buf = [&](size_t i) { return sless_buffer{frame.fields[i].data(), frame.fields[i].size()}; };
    sless_invocation inv{};
    inv.struct_size = sizeof(inv);
    inv.abi_version = SLESS_ABI_VERSION;
    inv.payload = buf(wire::kInvPayload);
    inv.request_id = buf(wire::kInvRequestId);
    inv.function_arn = buf(wire::kInvFunctionArn);
    inv.function_name = buf(wire::kInvFunctionName);
    inv.function_version = buf(wire::kInvVersion);
    inv.log_group_name = buf(wire::kInvLogGroup);
    inv.log_stream_name = buf(wire::kInvLogStream);
    inv.client_context = buf(wire::kInvClientContext);
    inv.cognito_identity = buf(wire::kInvCognitoIdentity);
    inv.xray_trace_id = buf(wire::kInvTraceId);
    inv.deadline_ms = std::strtoll(frame.fields[wire::kInvDeadlineMs].c_str(), nullptr, 10);
    inv.memory_limit_mb = static_cast<int32_t>(std::strtol(frame.fields[wire::kInvMemoryMb].c_str(), nullptr, 10));
    inv.host = &api;
    w.current = &inv;
    w.broken = false;

    sless_response res{};
    res.struct_size = sizeof(res);
    res.abi_version = SLESS_ABI_VERSION;
    int32_t rc = handler(&inv, &res);
    w.current = nullptr;

    auto view = [rc](sless_buffer b) {
      return rc == 0 && b.ptr ? std::string_view(b.ptr, b.len) : std::string_view();
    };
    std::string logs = drain_log(w);
    std::string rss = std::to_string(max_rss_kb());
    static_assert(wire::kResFieldCount == 6, "the result frame's fields are listed in order below");
    std::string result = wire::encode(wire::Type::kResult,
                                      {rc != 0 ? "invalid" : res.is_error ? "error" : "ok", view(res.payload),
                                       view(res.error_type), view(res.content_type), logs, rss});
    if (res.release) res.release(res.release_ctx);
    if (!wire::write_all(fd, result)) break;
  }
  return 0;
}

}  // namespace sless::host
