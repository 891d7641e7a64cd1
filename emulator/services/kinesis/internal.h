// Helpers shared by the Kinesis provider's source files (not part of its API): AWS's error
// shapes and messages, and the JSON shapes of shards and hash ranges. Pure; any thread.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "services/kinesis/stream.h"

namespace sless::services::kinesis::detail {

inline constexpr int64_t kIteratorLifetimeMs = 300000;  // shard iterators expire after 5 minutes
inline constexpr int kMinRetentionHours = 24;
inline constexpr int kMaxRetentionHours = 8760;
inline constexpr size_t kMaxGetRecordsBytes = 10u * 1024 * 1024;
inline constexpr size_t kMaxPutRecordsBytes = 5u * 1024 * 1024;
inline constexpr int kShardLimit = 500;                 // per account and region (AWS's default)
inline constexpr int kOnDemandStreamLimit = 50;
inline constexpr int kOnDemandShards = 4;               // a new ON_DEMAND stream's shards
inline constexpr size_t kMaxConsumers = 20;
inline constexpr size_t kMaxTags = 50;

inline ServiceError invalid_argument(std::string message) {
  return ServiceError("InvalidArgumentException", std::move(message));
}
inline ServiceError in_use(std::string message) { return ServiceError("ResourceInUseException", std::move(message)); }
inline ServiceError limit_exceeded(std::string message) {
  return ServiceError("LimitExceededException", std::move(message));
}
inline ServiceError stream_not_found(std::string_view name, std::string_view account) {
  return ServiceError("ResourceNotFoundException",
                      "Stream " + std::string(name) + " under account " + std::string(account) + " not found.");
}
inline ServiceError shard_not_found(std::string_view shard, std::string_view stream, std::string_view account) {
  return ServiceError("ResourceNotFoundException", "Shard " + std::string(shard) + " in stream " +
                                                       std::string(stream) + " under account " +
                                                       std::string(account) + " does not exist");
}
inline ServiceError not_active(const Stream& s, StreamStatus status) {
  return in_use("Stream " + s.name + " under account " + s.account + " not ACTIVE, instead in state " +
                to_string(status));
}

inline double seconds(int64_t ms) { return static_cast<double>(ms) / 1000.0; }

// {"StartingHashKey": ..., "EndingHashKey": ...}
nlohmann::json hash_range_json(const Shard& shard);
// A Shard as DescribeStream and ListShards return it. Locks the shard.
nlohmann::json shard_json(const Stream& s, const Shard& shard);

// Opaque pagination tokens: base64 of a small JSON object stamped with its creation time.
std::string make_token(nlohmann::json body, int64_t now_ms);
// nullopt when the token is not one of ours.
std::optional<nlohmann::json> read_token(std::string_view token);

}  // namespace sless::services::kinesis::detail
