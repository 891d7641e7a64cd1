// Tumbling windows: alignment, events, answers and the durable form (see windows.h).
#include "services/lambda/windows.h"

#include "core/time_format.h"

namespace sless::services::lambda::windows {

using nlohmann::json;

Window window_of(int64_t arrival_ms, int length_s) {
  int64_t length = int64_t{length_s} * 1000;
  int64_t offset = ((arrival_ms % length) + length) % length;  // floor, also before the epoch
  int64_t start = arrival_ms - offset;
  return Window{start, start + length};
}

json event(json records, const Call& call) {
  const OpenWindow& w = *call.open;
  return json{{"Records", std::move(records)},
              {"window", json{{"start", timefmt::iso8601(w.window.start_ms)}, {"end", timefmt::iso8601(w.window.end_ms)}}},
              {"state", w.state},
              {"shardId", call.shard_id},
              {"eventSourceARN", call.source_arn},
              {"isFinalInvokeForWindow", call.final_invoke},
              {"isWindowTerminatedEarly", call.final_invoke && w.terminated_early}};
}

std::optional<json> answered_state(std::string_view payload) {
  json answer = json::parse(payload, nullptr, false);
  if (!answer.is_object()) {
    return std::nullopt;
  }
  auto it = answer.find("state");
  if (it == answer.end() || !it->is_object()) {
    return std::nullopt;
  }
  return *it;
}

bool too_large(const json& state) { return state.dump().size() > kMaxStateBytes; }

std::string encode(const OpenWindow& w) {
  return json{{"start", w.window.start_ms}, {"end", w.window.end_ms}, {"state", w.state},
              {"early", w.terminated_early}}
      .dump();
}

std::optional<OpenWindow> decode(std::string_view text) {
  json j = json::parse(text, nullptr, false);
  if (!j.is_object() || !j.contains("start") || !j["start"].is_number_integer() || !j.contains("end") ||
      !j["end"].is_number_integer()) {
    return std::nullopt;
  }
  OpenWindow w;
  w.window = Window{j["start"].get<int64_t>(), j["end"].get<int64_t>()};
  if (auto s = j.find("state"); s != j.end() && s->is_object()) {
    w.state = *s;
  }
  w.terminated_early = j.value("early", false);
  return w;
}

}  // namespace sless::services::lambda::windows
