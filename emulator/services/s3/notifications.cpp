#include "services/s3/notifications.h"

#include <algorithm>

#include "core/encoding.h"
#include "core/ids.h"
#include "core/time_format.h"

namespace sless::services::s3 {

using nlohmann::json;

namespace {

constexpr const char* kEvents[] = {
    "s3:ReducedRedundancyLostObject",
    "s3:ObjectCreated:*",
    "s3:ObjectCreated:Put",
    "s3:ObjectCreated:Post",
    "s3:ObjectCreated:Copy",
    "s3:ObjectCreated:CompleteMultipartUpload",
    "s3:ObjectRemoved:*",
    "s3:ObjectRemoved:Delete",
    "s3:ObjectRemoved:DeleteMarkerCreated",
    "s3:ObjectRestore:*",
    "s3:ObjectRestore:Post",
    "s3:ObjectRestore:Completed",
    "s3:ObjectRestore:Delete",
    "s3:Replication:*",
    "s3:Replication:OperationFailedReplication",
    "s3:Replication:OperationNotTracked",
    "s3:Replication:OperationMissedThreshold",
    "s3:Replication:OperationReplicatedAfterThreshold",
    "s3:LifecycleExpiration:*",
    "s3:LifecycleExpiration:Delete",
    "s3:LifecycleExpiration:DeleteMarkerCreated",
    "s3:LifecycleTransition",
    "s3:IntelligentTiering",
    "s3:ObjectTagging:*",
    "s3:ObjectTagging:Put",
    "s3:ObjectTagging:Delete",
    "s3:ObjectAcl:Put",
};

struct Section {
  const char* member;     // params member
  const char* arn_member;
  const char* arn_service;
  EventTarget::Kind kind;
};
constexpr Section kSections[] = {
    {"QueueConfigurations", "QueueArn", "sqs", EventTarget::Kind::kQueue},
    {"TopicConfigurations", "TopicArn", "sns", EventTarget::Kind::kTopic},
    {"LambdaFunctionConfigurations", "LambdaFunctionArn", "lambda", EventTarget::Kind::kFunction},
};

ServiceError invalid(const std::string& message, const std::string& name = {}, const std::string& value = {}) {
  ServiceError e("InvalidArgument", message);
  if (!name.empty()) {
    e.fields["ArgumentName"] = name;
    e.fields["ArgumentValue"] = value;
  }
  return e;
}

// arn:aws:<service>:<region>:<account>:<resource>
bool valid_arn(const std::string& arn, const char* service) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string::npos) return false;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  parts.push_back(arn.substr(start));
  return parts[0] == "arn" && enc::starts_with(parts[1], "aws") && parts[2] == service && !parts[3].empty() &&
         !parts[4].empty() && !parts[5].empty();
}

bool event_matches(const std::string& pattern, const std::string& name) {
  // pattern "s3:ObjectCreated:*" or "s3:ObjectCreated:Put"; name "ObjectCreated:Put"
  std::string_view p = pattern;
  if (enc::starts_with(p, "s3:")) p.remove_prefix(3);
  if (enc::ends_with(p, ":*")) return enc::starts_with(name, p.substr(0, p.size() - 1));
  return p == name;
}

bool key_matches(const json& conf, const std::string& key) {
  auto f = conf.find("Filter");
  if (f == conf.end() || !f->is_object()) return true;
  auto k = f->find("Key");
  if (k == f->end() || !k->is_object()) return true;
  auto rules = k->find("FilterRules");
  if (rules == k->end() || !rules->is_array()) return true;
  for (const auto& r : *rules) {
    std::string name = enc::to_lower(r.value("Name", ""));
    std::string value = r.value("Value", "");
    if (name == "prefix" && !enc::starts_with(key, value)) return false;
    if (name == "suffix" && !enc::ends_with(key, value)) return false;
  }
  return true;
}

std::optional<ServiceError> check_filter(const json& conf) {
  auto f = conf.find("Filter");
  if (f == conf.end() || !f->is_object()) return std::nullopt;
  auto k = f->find("Key");
  if (k == f->end() || !k->is_object()) return std::nullopt;
  auto rules = k->find("FilterRules");
  if (rules == k->end() || !rules->is_array()) return std::nullopt;
  bool prefix = false;
  bool suffix = false;
  for (const auto& r : *rules) {
    std::string name = enc::to_lower(r.value("Name", ""));
    if (name != "prefix" && name != "suffix") {
      return invalid("filter rule name must be either prefix or suffix", "FilterRule", r.value("Name", ""));
    }
    bool& seen = name == "prefix" ? prefix : suffix;
    if (seen) {
      return invalid("Cannot specify more than one " + name + " rule in a filter.", "FilterRule", r.value("Name", ""));
    }
    seen = true;
  }
  return std::nullopt;
}

}  // namespace

std::optional<ServiceError> validate_notification(json& config) {
  if (!config.is_object()) return ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
  std::vector<std::string> ids;
  for (const auto& section : kSections) {
    auto it = config.find(section.member);
    if (it == config.end()) continue;
    if (!it->is_array()) return ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
    for (auto& conf : *it) {
      std::string arn = conf.value(section.arn_member, "");
      if (!valid_arn(arn, section.arn_service)) {
        return invalid("Unable to validate the following destination configurations", arn, "The destination ARN " + arn + " is not valid.");
      }
      auto events = conf.find("Events");
      if (events == conf.end() || !events->is_array() || events->empty()) {
        return ServiceError("MalformedXML", "The XML you provided was not well-formed or did not validate against our published schema");
      }
      for (const auto& e : *events) {
        std::string name = e.is_string() ? e.get<std::string>() : "";
        if (std::find(std::begin(kEvents), std::end(kEvents), name) == std::end(kEvents)) {
          return invalid("The event is not supported for notifications", "Event", name);
        }
      }
      if (auto err = check_filter(conf)) return err;
      if (!conf.contains("Id") || !conf["Id"].is_string() || conf["Id"].get<std::string>().empty()) {
        conf["Id"] = ids::uuid();
      }
      std::string id = conf["Id"].get<std::string>();
      if (std::find(ids.begin(), ids.end(), id) != ids.end()) {
        return invalid("Configuration ids must be unique.", "ConfigurationId", id);
      }
      ids.push_back(id);
    }
  }
  return std::nullopt;
}

std::vector<EventTarget> notification_targets(const json& config) {
  std::vector<EventTarget> out;
  if (!config.is_object()) return out;
  for (const auto& section : kSections) {
    auto it = config.find(section.member);
    if (it == config.end() || !it->is_array()) continue;
    for (const auto& conf : *it) {
      out.push_back(EventTarget{section.kind, conf.value(section.arn_member, ""), conf.value("Id", "")});
    }
  }
  return out;
}

ServiceError missing_destination(const EventTarget& target) {
  const char* what = target.kind == EventTarget::Kind::kQueue   ? "queue"
                     : target.kind == EventTarget::Kind::kTopic ? "topic"
                                                                 : "function";
  return invalid("Unable to validate the following destination configurations", target.arn,
                 std::string("The destination ") + what + " does not exist");
}

json test_event_message(const std::string& bucket, const std::string& request_id, int64_t time_ms) {
  return json{{"Service", "Amazon S3"},
              {"Event", "s3:TestEvent"},
              {"Time", timefmt::iso8601_ms(time_ms)},
              {"Bucket", bucket},
              {"RequestId", request_id},
              {"HostId", request_id}};
}

std::vector<EventTarget> match_notification(const json& config, const ObjectEvent& event) {
  std::vector<EventTarget> out;
  if (!config.is_object()) return out;
  for (const auto& section : kSections) {
    auto it = config.find(section.member);
    if (it == config.end() || !it->is_array()) continue;
    for (const auto& conf : *it) {
      auto events = conf.find("Events");
      if (events == conf.end() || !events->is_array()) continue;
      bool hit = std::any_of(events->begin(), events->end(), [&](const json& e) {
        return e.is_string() && event_matches(e.get<std::string>(), event.event_name);
      });
      if (!hit || !key_matches(conf, event.key)) continue;
      out.push_back(EventTarget{section.kind, conf.value(section.arn_member, ""), conf.value("Id", "")});
    }
  }
  if (config.contains("EventBridgeConfiguration")) {
    out.push_back(EventTarget{EventTarget::Kind::kEventBridge, "", ""});
  }
  return out;
}

json event_message(const EventTarget& target, const ObjectEvent& e) {
  json object = {{"key", enc::percent_encode(e.key, /*keep_slash=*/true)}, {"sequencer", e.sequencer}};
  if (e.event_name.rfind("ObjectRemoved", 0) != 0) {
    object["size"] = e.size;
    object["eTag"] = e.etag;
  }
  if (!e.version_id.empty()) object["versionId"] = e.version_id;
  json record = {
      {"eventVersion", "2.1"},
      {"eventSource", "aws:s3"},
      {"awsRegion", e.region},
      {"eventTime", timefmt::iso8601_ms(e.time_ms)},
      {"eventName", e.event_name},
      {"userIdentity", {{"principalId", "AWS:" + e.principal}}},
      {"requestParameters", {{"sourceIPAddress", "127.0.0.1"}}},
      {"responseElements", {{"x-amz-request-id", e.request_id}, {"x-amz-id-2", e.request_id}}},
      {"s3",
       {{"s3SchemaVersion", "1.0"},
        {"configurationId", target.configuration_id},
        {"bucket",
         {{"name", e.bucket}, {"ownerIdentity", {{"principalId", e.bucket_owner}}}, {"arn", "arn:aws:s3:::" + e.bucket}}},
        {"object", std::move(object)}}},
  };
  return json{{"Records", json::array({std::move(record)})}};
}

}  // namespace sless::services::s3
