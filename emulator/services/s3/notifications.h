// Bucket notification configuration: validation of what PutBucketNotificationConfiguration
// stores, and matching of object events against it. Delivery belongs to whoever registers an
// EventSink with the provider (queues, topics and functions land with their own services).
// Pure functions; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/service_error.h"

namespace sless::services::s3 {

// One change to an object, as S3 reports it.
struct ObjectEvent {
  std::string event_name;  // without the "s3:" prefix: "ObjectCreated:Put", "ObjectRemoved:Delete", ...
  std::string bucket;
  std::string bucket_owner;  // account
  std::string region;
  std::string key;
  uint64_t size = 0;
  std::string etag;          // without quotes
  std::string version_id;    // empty for unversioned buckets
  std::string sequencer;
  int64_t time_ms = 0;
  std::string request_id;
  std::string principal;     // account of the caller
};

// A destination that a bucket's configuration names for an event.
struct EventTarget {
  enum class Kind { kQueue, kTopic, kFunction, kEventBridge };
  Kind kind = Kind::kQueue;
  std::string arn;               // empty for EventBridge
  std::string configuration_id;  // the configuration's Id
};

using EventSink = std::function<void(const EventTarget& target, const ObjectEvent& event)>;

// Checks a NotificationConfiguration params tree; fills missing Ids (as S3 does). The error is
// S3's InvalidArgument / MalformedXML.
std::optional<ServiceError> validate_notification(nlohmann::json& config);

// The destinations of `config` that `event` matches (event type and key prefix/suffix filters).
std::vector<EventTarget> match_notification(const nlohmann::json& config, const ObjectEvent& event);

// Every queue, topic and function that a (validated) configuration names.
std::vector<EventTarget> notification_targets(const nlohmann::json& config);

// S3's InvalidArgument for a destination that does not exist.
ServiceError missing_destination(const EventTarget& target);

// The s3:TestEvent message S3 sends to a configuration's queues and topics when it is set.
nlohmann::json test_event_message(const std::string& bucket, const std::string& request_id, int64_t time_ms);

// The S3 event message ({"Records": [...]}) for one destination, as S3 delivers it.
nlohmann::json event_message(const EventTarget& target, const ObjectEvent& event);

}  // namespace sless::services::s3
