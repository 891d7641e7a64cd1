// Enhanced fan-out consumers: registration, description, listing and deregistration. They are
// kept in their stream's metadata; SubscribeToShard (which would push to them) is not served.
#include <algorithm>

#include "core/clock.h"
#include "core/encoding.h"
#include "services/kinesis/internal.h"
#include "services/kinesis/provider.h"
#include "services/kinesis/stream.h"

namespace sless::services::kinesis {

using nlohmann::json;
using namespace detail;

namespace {

const char* consumer_status(const Consumer& c, int64_t now_ms) {
  if (c.deregistering) return "DELETING";
  return now_ms < c.ready_ms ? "CREATING" : "ACTIVE";
}

bool consumer_gone(const Consumer& c, int64_t now_ms) { return c.deregistering && now_ms >= c.ready_ms; }

json consumer_json(const Consumer& c, int64_t now_ms) {
  return {{"ConsumerName", c.name},
          {"ConsumerARN", c.arn},
          {"ConsumerStatus", consumer_status(c, now_ms)},
          {"ConsumerCreationTimestamp", seconds(c.created_ms)}};
}

ServiceError consumer_not_found(const std::string& what) {
  return ServiceError("ResourceNotFoundException", "Consumer " + what + " not found.");
}

// The stream part of a consumer ARN: <stream arn>/consumer/<name>:<epoch seconds>.
std::string stream_arn_of_consumer(std::string_view consumer_arn) {
  auto at = consumer_arn.find("/consumer/");
  return at == std::string_view::npos ? std::string() : std::string(consumer_arn.substr(0, at));
}

}  // namespace

KinesisProvider::Result KinesisProvider::register_consumer(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  Stream& s = *found.value();
  const std::string& name = p["ConsumerName"].get_ref<const std::string&>();
  std::unique_lock lock(s.mu);
  s.consumers.erase(std::remove_if(s.consumers.begin(), s.consumers.end(),
                                   [&](const Consumer& c) { return consumer_gone(c, now); }),
                    s.consumers.end());
  for (const auto& c : s.consumers) {
    if (c.name == name) {
      return in_use("Consumer " + c.arn + " under account " + s.account + " already exists.");
    }
  }
  if (s.consumers.size() >= kMaxConsumers) {
    return limit_exceeded("Stream " + s.name + " under account " + s.account + " already has " +
                          std::to_string(kMaxConsumers) + " registered consumers.");
  }
  Consumer c;
  c.name = name;
  c.created_ms = now;
  c.arn = s.arn + "/consumer/" + name + ":" + std::to_string(now / 1000);
  c.ready_ms = now + transition_ms_;
  if (auto tags = p.find("Tags"); tags != p.end()) {
    for (const auto& [k, v] : tags->items()) c.tags[k] = v.get<std::string>();
  }
  json out = {{"Consumer", consumer_json(c, now)}};
  s.consumers.push_back(std::move(c));
  return commit(s, std::move(out));
}

bool KinesisProvider::ConsumerRef::matches(const Consumer& c, int64_t now_ms) const {
  return !consumer_gone(c, now_ms) && (arn.empty() ? c.name == name : c.arn == arn);
}

Outcome<KinesisProvider::ConsumerRef> KinesisProvider::find_consumer(const RequestContext& ctx, const json& p,
                                                                     int64_t now_ms) const {
  ConsumerRef ref;
  ref.arn = p.value("ConsumerARN", "");
  ref.name = p.value("ConsumerName", "");
  if (ref.arn.empty() && (ref.name.empty() || !p.contains("StreamARN"))) {
    return invalid_argument("Either ConsumerARN or both StreamARN and ConsumerName must be given.");
  }
  auto found = ref.arn.empty() ? find(ctx, p, now_ms) : find_by_arn(ctx, stream_arn_of_consumer(ref.arn), now_ms);
  if (!found.ok()) return ref.arn.empty() ? std::move(found).error() : consumer_not_found(ref.arn);
  ref.stream = found.value();
  return ref;
}

KinesisProvider::Result KinesisProvider::describe_consumer(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find_consumer(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const ConsumerRef& ref = found.value();
  const Stream& s = *ref.stream;
  std::shared_lock lock(s.mu);
  for (const auto& c : s.consumers) {
    if (!ref.matches(c, now)) continue;
    json d = consumer_json(c, now);
    d["StreamARN"] = s.arn;
    return protocol::OperationOutput(json{{"ConsumerDescription", std::move(d)}});
  }
  return consumer_not_found(ref.arn.empty() ? ref.name : ref.arn);
}

KinesisProvider::Result KinesisProvider::list_consumers(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const Stream& s = *found.value();
  size_t limit = p.value("MaxResults", 100);
  size_t skip = 0;
  if (auto token = p.find("NextToken"); token != p.end()) {
    auto body = read_token(token->get<std::string>());
    if (!body || !body->contains("skip") || !(*body)["skip"].is_number_unsigned()) {
      return invalid_argument("Invalid NextToken.");
    }
    if (now - (*body)["t"].get<int64_t>() > kIteratorLifetimeMs) {
      return ServiceError("ExpiredNextTokenException", "The NextToken has expired.");
    }
    skip = (*body)["skip"].get<size_t>();
  }
  std::shared_lock lock(s.mu);
  json list = json::array();
  size_t seen = 0;
  bool more = false;
  for (const auto& c : s.consumers) {
    if (consumer_gone(c, now)) continue;
    if (seen++ < skip) continue;
    if (list.size() == limit) {
      more = true;
      break;
    }
    list.push_back(consumer_json(c, now));
  }
  json out = {{"Consumers", std::move(list)}};
  if (more) out["NextToken"] = make_token({{"skip", skip + limit}}, now);
  return protocol::OperationOutput(std::move(out));
}

KinesisProvider::Result KinesisProvider::deregister_consumer(RequestContext& ctx, json& p) {
  int64_t now = env_->clock->now_ms();
  auto found = find_consumer(ctx, p, now);
  if (!found.ok()) return std::move(found).error();
  const ConsumerRef& ref = found.value();
  Stream& s = *ref.stream;
  std::unique_lock lock(s.mu);
  for (auto it = s.consumers.begin(); it != s.consumers.end(); ++it) {
    if (!ref.matches(*it, now)) continue;
    if (transition_ms_ > 0) {
      it->deregistering = true;
      it->ready_ms = now + transition_ms_;
    } else {
      s.consumers.erase(it);
    }
    return commit(s);
  }
  return consumer_not_found(ref.arn.empty() ? ref.name : ref.arn);
}

}  // namespace sless::services::kinesis
