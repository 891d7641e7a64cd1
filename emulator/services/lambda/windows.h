// Tumbling windows of stream event source mappings (Kinesis, DynamoDB Streams): which window a
// record belongs to, the event a windowed invocation carries, the state in the function's answer,
// and the durable form of a shard's open window. Pure functions; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace sless::services::lambda::windows {

// A state larger than this (serialized) ends its window early, as Lambda's 1 MB per shard.
inline constexpr size_t kMaxStateBytes = 1024 * 1024;

// [start_ms, end_ms): windows start at multiples of their length since the epoch.
struct Window {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool operator==(const Window&) const = default;
};

// The window of `length_s` seconds (> 0) that holds the instant `arrival_ms`.
Window window_of(int64_t arrival_ms, int length_s);

// A shard's window that has received records and has not had its final invocation yet.
struct OpenWindow {
  Window window;
  nlohmann::json state = nlohmann::json::object();  // what the window's last invocation answered
  bool terminated_early = false;  // the state outgrew kMaxStateBytes: the next invocation is final
};

// The invocation event: `Records` plus window, state, shardId, eventSourceARN,
// isFinalInvokeForWindow and isWindowTerminatedEarly, as Lambda sends them.
struct Call {
  const OpenWindow* open = nullptr;
  std::string_view shard_id;
  std::string_view source_arn;
  bool final_invoke = false;
};
nlohmann::json event(nlohmann::json records, const Call& call);

// The `state` of a function's answer (any JSON object); nullopt when the answer has none, which
// Lambda counts as a failed invocation.
std::optional<nlohmann::json> answered_state(std::string_view payload);

// Whether a state ends its window early.
bool too_large(const nlohmann::json& state);

std::string encode(const OpenWindow& w);
std::optional<OpenWindow> decode(std::string_view text);

}  // namespace sless::services::lambda::windows
