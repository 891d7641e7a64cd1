#include "core/log.h"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <ctime>
#include <mutex>
#include <string>

namespace sless::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

struct Writer {
  std::mutex mu;
  std::string buf;

  void drain_locked() {
    size_t off = 0;
    while (off < buf.size()) {
      ssize_t n = ::write(STDERR_FILENO, buf.data() + off, buf.size() - off);
      if (n <= 0) {
        break;
      }
      off += static_cast<size_t>(n);
    }
    buf.clear();
  }
};

Writer& writer() {
  static Writer* w = new Writer();  // never destroyed: loggers may run during exit
  return *w;
}

const char* level_name(Level l) {
  switch (l) {
    case Level::kTrace: return "TRACE";
    case Level::kDebug: return "DEBUG";
    case Level::kInfo: return "INFO ";
    case Level::kWarn: return "WARN ";
    case Level::kError: return "ERROR";
    case Level::kOff: return "";
  }
  return "";
}

}  // namespace

bool parse_level(std::string_view t, Level* out) {
  static constexpr std::pair<std::string_view, Level> kNames[] = {
      {"trace", Level::kTrace}, {"debug", Level::kDebug}, {"info", Level::kInfo},
      {"warn", Level::kWarn},   {"warning", Level::kWarn}, {"error", Level::kError},
      {"off", Level::kOff}};
  for (auto& [name, l] : kNames) {
    if (t == name) {
      *out = l;
      return true;
    }
  }
  return false;
}

void set_level(Level l) { g_level.store(static_cast<int>(l), std::memory_order_relaxed); }
Level level() { return static_cast<Level>(g_level.load(std::memory_order_relaxed)); }

void write(Level l, std::string_view line) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[64];
  std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  Writer& w = writer();
  std::lock_guard lock(w.mu);
  w.buf.append(stamp).append(" ").append(level_name(l)).append(" ").append(line).append("\n");
  if (l >= Level::kWarn || w.buf.size() > 32 * 1024) {
    w.drain_locked();
  }
}

void flush() {
  Writer& w = writer();
  std::lock_guard lock(w.mu);
  w.drain_locked();
}

}  // namespace sless::log
