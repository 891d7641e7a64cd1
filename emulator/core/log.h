// Logging: levelled lines to stderr through one buffered writer.
// Thread-safe. Lines at warn and above, and every line when the buffer fills or flush() runs,
// reach stderr at once; info and below wait at most for the next flush() (the daemon flushes
// every 100 ms) so that the access log costs no system call per request.
#pragma once

#include <string_view>

#include <fmt/format.h>

namespace sless::log {

enum class Level : int { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

// Parses "trace|debug|info|warn|error|off"; returns false on anything else.
bool parse_level(std::string_view text, Level* out);
void set_level(Level level);
Level level();
inline bool enabled(Level l) { return static_cast<int>(l) >= static_cast<int>(level()); }

void write(Level level, std::string_view line);
void flush();

template <class... Args>
void emit(Level l, fmt::format_string<Args...> f, Args&&... args) {
  if (enabled(l)) {
    write(l, fmt::format(f, std::forward<Args>(args)...));
  }
}

template <class... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { emit(Level::kDebug, f, std::forward<Args>(a)...); }
template <class... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { emit(Level::kInfo, f, std::forward<Args>(a)...); }
template <class... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { emit(Level::kWarn, f, std::forward<Args>(a)...); }
template <class... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { emit(Level::kError, f, std::forward<Args>(a)...); }

}  // namespace sless::log
