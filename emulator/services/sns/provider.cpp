#include "services/sns/provider.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time_format.h"
#include "http/client.h"
#include "services/registry.h"
#include "services/sns/filter_policy.h"
#include "services/sqs/provider.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::sns {
namespace {

using Out = Outcome<protocol::OperationOutput>;
using json = nlohmann::json;

constexpr size_t kMaxMessageBytes = 262144;  // SNS keeps the 256 KiB limit
constexpr int64_t kDedupWindowMs = 5 * 60 * 1000;
constexpr size_t kPageSize = 100;
constexpr size_t kMaxRecorded = 1000;
constexpr int kHttpThreads = 2;

ServiceError invalid_parameter(std::string what) {
  return ServiceError("InvalidParameterException", "Invalid parameter: " + std::move(what));
}
ServiceError invalid_value(std::string what) { return ServiceError("InvalidParameterValueException", std::move(what)); }
ServiceError topic_not_found() { return ServiceError("NotFoundException", "Topic does not exist", 404); }
ServiceError sub_not_found() { return ServiceError("NotFoundException", "Subscription does not exist", 404); }


std::map<std::string, std::string> string_map(const json& p, const char* name) {
  std::map<std::string, std::string> out;
  auto it = p.find(name);
  if (it != p.end() && it->is_object()) {
    for (auto& [k, v] : it->items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

bool valid_topic_name(std::string_view name, bool fifo) {
  std::string_view base = fifo && enc::ends_with(name, ".fifo") ? name.substr(0, name.size() - 5) : name;
  if (base.empty() || name.size() > 256) return false;
  return std::all_of(base.begin(), base.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

// arn:aws:sns:<region>:<account>:<topic>[:<subscription id>]
struct ArnParts {
  std::string region, account, topic, sub;
};
std::optional<ArnParts> parse_arn(std::string_view arn) {
  // arn:partition:sns:region:account:topic[:subscription], split without copying.
  std::string_view parts[7];
  size_t n = 0;
  size_t start = 0;
  while (true) {
    if (n == 7) return std::nullopt;
    size_t colon = arn.find(':', start);
    parts[n++] = arn.substr(start, colon == std::string_view::npos ? std::string_view::npos : colon - start);
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (n < 6 || parts[0] != "arn" || parts[2] != "sns" || parts[5].empty()) {
    return std::nullopt;
  }
  return ArnParts{std::string(parts[3]), std::string(parts[4]), std::string(parts[5]),
                  n == 7 ? std::string(parts[6]) : std::string()};
}

const std::set<std::string>& topic_settable() {
  static const std::set<std::string> k = [] {
    std::set<std::string> s = {"DisplayName", "Policy",     "DeliveryPolicy", "KmsMasterKeyId", "SignatureVersion",
                               "TracingConfig", "ContentBasedDeduplication", "FifoTopic", "ArchivePolicy",
                               "DataProtectionPolicy", "FifoThroughputScope"};
    for (const char* proto : {"Application", "HTTP", "Lambda", "SQS", "Firehose"}) {
      for (const char* what : {"SuccessFeedbackRoleArn", "SuccessFeedbackSampleRate", "FailureFeedbackRoleArn"}) {
        s.insert(std::string(proto) + what);
      }
    }
    return s;
  }();
  return k;
}

std::string default_policy(const std::string& arn, const std::string& account) {
  json p = {{"Version", "2008-10-17"},
            {"Id", "__default_policy_ID"},
            {"Statement",
             {{{"Sid", "__default_statement_ID"},
               {"Effect", "Allow"},
               {"Principal", {{"AWS", "*"}}},
               {"Action",
                {"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission",
                 "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"}},
               {"Resource", arn},
               {"Condition", {{"StringEquals", {{"AWS:SourceOwner", account}}}}}}}}};
  return p.dump();
}

const char* kDefaultDeliveryPolicy =
    R"({"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,)"
    R"("numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},)"
    R"("disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}})";

// Appends `s` as a JSON string: copied as it is when nothing in it needs escaping (the usual
// message, ids, ARNs, URLs, base64), else through nlohmann's dump(), so the bytes are the same.
void append_json_string(std::string& out, std::string_view s) {
  bool plain = std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
  });
  if (plain) {
    out.push_back('"');
    out.append(s);
    out.push_back('"');
  } else {
    out += json(std::string(s)).dump();
  }
}

// One field of an SNS envelope: a string, or (MessageAttributes) a JSON object.
struct Field {
  std::string_view key;
  std::string_view text;
  const json* object = nullptr;
};

// The SNS JSON document AWS delivers, formatted as AWS formats it ("Key" : value, two spaces).
std::string envelope(const std::vector<Field>& fields) {
  size_t size = 16;
  for (const auto& f : fields) size += f.key.size() + f.text.size() + 16;
  std::string out;
  out.reserve(size);
  out += "{\n";
  bool first = true;
  for (const auto& f : fields) {
    if (!first) out += ",\n";
    first = false;
    out += "  ";
    append_json_string(out, f.key);
    out += " : ";
    if (f.object) {
      out += "{\n";
      bool f2 = true;
      for (auto& [ak, av] : f.object->items()) {
        if (!f2) out += ",\n";
        f2 = false;
        out += "    ";
        append_json_string(out, ak);
        out += " : ";
        out += av.dump();
      }
      out += "\n  }";
    } else {
      append_json_string(out, f.text);
    }
  }
  out += "\n}";
  return out;
}

// {"k": {"Type": "String", "Value": "v"}} as SNS shows attributes in envelopes and events.
json envelope_attributes(const json& attrs) {
  json out = json::object();
  if (!attrs.is_object()) return out;
  for (auto& [k, v] : attrs.items()) {
    std::string type = v.value("DataType", "String");
    if (v.contains("BinaryValue")) {
      out[k] = {{"Type", type}, {"Value", v["BinaryValue"]}};
    } else {
      out[k] = {{"Type", type}, {"Value", v.value("StringValue", "")}};
    }
  }
  return out;
}

std::string signature_of(const std::string& canonical) { return enc::base64_encode(crypto::sha256(canonical)); }

bool valid_batch_id(std::string_view id) {
  return !id.empty() && id.size() <= 80 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

}  // namespace

// ----------------------------------------------------------------------------------------------
// Records

struct SnsProvider::Subscription {
  std::string arn, topic_arn, protocol, endpoint, owner, account, region;
  // Guarded by the topic's mu:
  std::map<std::string, std::string> attributes;
  bool confirmed = false;
  std::string token;
  json filter;  // null: no policy
  bool body_scope = false;
  bool raw = false;
  std::string dlq_arn;
  int retries = 3;
  int retry_delay_s = 20;

  void apply() {
    filter = nullptr;
    if (auto f = attributes.find("FilterPolicy"); f != attributes.end() && !f->second.empty()) {
      filter = json::parse(f->second, nullptr, false);
      if (filter.is_discarded()) filter = nullptr;
    }
    auto scope = attributes.find("FilterPolicyScope");
    body_scope = scope != attributes.end() && scope->second == "MessageBody";
    auto r = attributes.find("RawMessageDelivery");
    raw = r != attributes.end() && r->second == "true";
    dlq_arn.clear();
    if (auto rp = attributes.find("RedrivePolicy"); rp != attributes.end()) {
      auto j = json::parse(rp->second, nullptr, false);
      dlq_arn = string_member(j, "deadLetterTargetArn");
    }
  }
  std::string key() const { return storage::key::KeyBuilder(account, region).str("s").str(arn).take(); }
  json to_json() const {
    return {{"arn", arn},   {"topic", topic_arn}, {"protocol", protocol},       {"endpoint", endpoint},
            {"owner", owner}, {"confirmed", confirmed}, {"token", token}, {"attributes", attributes}};
  }
};

struct SnsProvider::Topic {
  std::string account, region, name, arn;
  std::mutex mu;
  // Guarded by mu:
  std::map<std::string, std::string> attributes;
  std::map<std::string, std::string> tags;
  int64_t created_ms = 0;
  bool fifo = false;
  bool deleted = false;
  int subscriptions_deleted = 0;
  std::vector<SubPtr> subs;
  std::unordered_map<std::string, std::pair<int64_t, json>> dedup;  // dedup id -> (expiry, publish result)

  bool content_dedup() const {
    auto it = attributes.find("ContentBasedDeduplication");
    return it != attributes.end() && it->second == "true";
  }
  std::string key() const { return storage::key::KeyBuilder(account, region).str("t").str(name).take(); }
  std::string dedup_key(std::string_view id) const {
    return storage::key::KeyBuilder(account, region).str("d").str(name).str(id).take();
  }
  json to_json() const {
    return {{"attributes", attributes}, {"tags", tags}, {"created", created_ms}, {"deleted_subs", subscriptions_deleted}};
  }
};

// One pending delivery to one subscription, as kept in the outbox until done.
struct SnsProvider::Delivery {
  uint64_t seq = 0;
  std::string kind = "Notification";  // or SubscriptionConfirmation
  std::string protocol, endpoint, sub_arn, topic_arn, message_id, subject;
  std::string body;
  json sqs_attributes;  // raw delivery to SQS
  std::string group_id, dedup_id;
  bool raw = false;
  std::string dlq_arn;
  int attempt = 0;
  int retries = 3;
  int retry_delay_s = 20;
  json lambda_event;

  std::string key() const { return storage::key::KeyBuilder("", "").str("o").u64(seq).take(); }
  json to_json() const {
    return {{"seq", seq},         {"kind", kind},         {"protocol", protocol},   {"endpoint", endpoint},
            {"sub", sub_arn},     {"topic", topic_arn},   {"id", message_id},       {"subject", subject},
            {"body", body},       {"attrs", sqs_attributes}, {"group", group_id},  {"dedup", dedup_id},
            {"raw", raw},         {"dlq", dlq_arn},       {"retries", retries},     {"delay", retry_delay_s},
            {"event", lambda_event}};
  }
  static Delivery from_json(const json& j) {
    Delivery d;
    d.seq = j.value("seq", uint64_t{0});
    d.kind = j.value("kind", "Notification");
    d.protocol = j.value("protocol", "");
    d.endpoint = j.value("endpoint", "");
    d.sub_arn = j.value("sub", "");
    d.topic_arn = j.value("topic", "");
    d.message_id = j.value("id", "");
    d.subject = j.value("subject", "");
    d.body = j.value("body", "");
    d.sqs_attributes = j.value("attrs", json());
    d.group_id = j.value("group", "");
    d.dedup_id = j.value("dedup", "");
    d.raw = j.value("raw", false);
    d.dlq_arn = j.value("dlq", "");
    d.retries = j.value("retries", 3);
    d.retry_delay_s = j.value("delay", 20);
    d.lambda_event = j.value("event", json());
    return d;
  }
};

struct SnsProvider::PublishInput {
  std::string message, subject, structure, group_id, dedup_id;
  json attributes;
};

// ----------------------------------------------------------------------------------------------
// Life cycle

SnsProvider::SnsProvider() {
  on_sync("CreateTopic", [this](RequestContext& c, json& p) { return create_topic(c, p); });
  on_sync("DeleteTopic", [this](RequestContext& c, json& p) { return delete_topic(c, p); });
  on_sync("ListTopics", [this](RequestContext& c, json& p) { return list_topics(c, p); });
  on_sync("GetTopicAttributes", [this](RequestContext& c, json& p) { return get_topic_attributes(c, p); });
  on_sync("SetTopicAttributes", [this](RequestContext& c, json& p) { return set_topic_attributes(c, p); });
  on_sync("Subscribe", [this](RequestContext& c, json& p) { return subscribe(c, p); });
  on_sync("ConfirmSubscription", [this](RequestContext& c, json& p) { return confirm_subscription(c, p); });
  on_sync("Unsubscribe", [this](RequestContext& c, json& p) { return unsubscribe(c, p); });
  on_sync("ListSubscriptions", [this](RequestContext& c, json& p) { return list_subscriptions(c, p, false); });
  on_sync("ListSubscriptionsByTopic", [this](RequestContext& c, json& p) { return list_subscriptions(c, p, true); });
  on_sync("GetSubscriptionAttributes",
          [this](RequestContext& c, json& p) { return get_subscription_attributes(c, p); });
  on_sync("SetSubscriptionAttributes",
          [this](RequestContext& c, json& p) { return set_subscription_attributes(c, p); });
  on_sync("Publish", [this](RequestContext& c, json& p) { return publish(c, p); });
  on_sync("PublishBatch", [this](RequestContext& c, json& p) { return publish_batch(c, p); });
  on_sync("TagResource", [this](RequestContext& c, json& p) { return tag_resource(c, p); });
  on_sync("UntagResource", [this](RequestContext& c, json& p) { return untag_resource(c, p); });
  on_sync("ListTagsForResource", [this](RequestContext& c, json& p) { return list_tags(c, p); });
  on_sync("AddPermission", [this](RequestContext& c, json& p) { return add_permission(c, p); });
  on_sync("RemovePermission", [this](RequestContext& c, json& p) { return remove_permission(c, p); });
}

SnsProvider::~SnsProvider() { stop(); }

sqs::SqsProvider* SnsProvider::sqs() {
  return env_.registry ? env_.registry->get<sqs::SqsProvider>("sqs") : nullptr;
}

Status SnsProvider::start(Env& env) {
  env_ = env;
  fam_ = env.store->family("sns");
  if (!fam_) return Status::internal("cannot open the sns column family");
  std::vector<Delivery> pending;
  std::vector<SubPtr> subs;
  std::vector<std::tuple<std::string, std::string, json>> dedups;
  uint64_t max_seq = 0;
  auto it = env.store->iterate(fam_, "", "");
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view k = it->key();
    std::string account, region, kind;
    if (!storage::key::read_string(k, &account) || !storage::key::read_string(k, &region) ||
        !storage::key::read_string(k, &kind)) {
      continue;
    }
    auto j = json::parse(it->value(), nullptr, false);
    if (!j.is_object()) continue;
    if (kind == "t") {
      std::string name;
      if (!storage::key::read_string(k, &name)) continue;
      auto t = std::make_shared<Topic>();
      t->account = account;
      t->region = region;
      t->name = name;
      t->arn = ids::arn("sns", region, account, name);
      t->attributes = string_map(j, "attributes");
      t->tags = string_map(j, "tags");
      t->created_ms = j.value("created", int64_t{0});
      t->subscriptions_deleted = j.value("deleted_subs", 0);
      t->fifo = t->attributes.count("FifoTopic") && t->attributes["FifoTopic"] == "true";
      topics_[t->arn] = t;
    } else if (kind == "s") {
      auto s = std::make_shared<Subscription>();
      s->account = account;
      s->region = region;
      s->arn = j.value("arn", "");
      s->topic_arn = j.value("topic", "");
      s->protocol = j.value("protocol", "");
      s->endpoint = j.value("endpoint", "");
      s->owner = j.value("owner", "");
      s->confirmed = j.value("confirmed", false);
      s->token = j.value("token", "");
      s->attributes = string_map(j, "attributes");
      s->apply();
      subs.push_back(s);
    } else if (kind == "d") {
      std::string topic, id;
      if (storage::key::read_string(k, &topic) && storage::key::read_string(k, &id)) {
        dedups.emplace_back(ids::arn("sns", region, account, topic), id, j);
      }
    } else if (kind == "o") {
      pending.push_back(Delivery::from_json(j));
      max_seq = std::max(max_seq, pending.back().seq);
    } else if (kind == "r") {
      recorded_.push_back(j);
      if (recorded_.size() > kMaxRecorded) recorded_.pop_front();
    }
  }
  for (auto& [arn, id, j] : dedups) {
    auto t = topics_.find(arn);
    if (t != topics_.end()) t->second->dedup[id] = {j.value("x", int64_t{0}), j.value("r", json::object())};
  }
  for (auto& s : subs) {
    auto t = topics_.find(s->topic_arn);
    if (t == topics_.end()) continue;
    t->second->subs.push_back(s);
    subscriptions_[s->arn] = s;
  }
  seq_.store(std::max(max_seq + 1, static_cast<uint64_t>(env.clock->now_ms()) * 1024));
  stopping_ = false;
  for (int i = 0; i < kHttpThreads; ++i) http_threads_.emplace_back([this] { http_worker(); });
  if (!pending.empty()) {
    log::info("sns: resuming {} pending deliveries", pending.size());
    auto shared = std::make_shared<std::vector<Delivery>>(std::move(pending));
    env_.scheduler->post([this, shared] {
      for (auto& d : *shared) dispatch(std::move(d));
    });
  }
  return Status::ok();
}

void SnsProvider::stop() {
  {
    std::lock_guard l(http_mu_);
    if (stopping_.exchange(true) && http_threads_.empty()) return;
  }
  http_cv_.notify_all();
  for (auto& t : http_threads_) {
    if (t.joinable()) t.join();
  }
  http_threads_.clear();
}

Status SnsProvider::reset() {
  {
    std::unique_lock lock(dir_mu_);
    for (auto& [arn, t] : topics_) {
      std::lock_guard tl(t->mu);
      t->deleted = true;
    }
    topics_.clear();
    subscriptions_.clear();
  }
  {
    std::lock_guard l(http_mu_);
    http_jobs_.clear();
  }
  {
    std::lock_guard l(lambda_mu_);
    lambda_pending_.clear();
  }
  {
    std::lock_guard l(recorded_mu_);
    recorded_.clear();
  }
  return env_.store->clear(fam_);
}

json SnsProvider::describe() const {
  json d;
  {
    std::shared_lock lock(dir_mu_);
    d["topics"] = topics_.size();
    d["subscriptions"] = subscriptions_.size();
  }
  auto rec = recorded(20);
  d["recorded"] = rec;
  return d;
}

std::vector<json> SnsProvider::recorded(size_t max) const {
  std::lock_guard l(recorded_mu_);
  size_t start = recorded_.size() > max ? recorded_.size() - max : 0;
  return std::vector<json>(recorded_.begin() + static_cast<std::ptrdiff_t>(start), recorded_.end());
}

void SnsProvider::set_lambda_deliverer(LambdaDeliverer deliverer) {
  std::vector<std::shared_ptr<Delivery>> pending;
  {
    std::lock_guard l(lambda_mu_);
    lambda_ = std::move(deliverer);
    pending.swap(lambda_pending_);
  }
  for (auto& d : pending) dispatch(std::move(*d));
}

SnsProvider::TopicPtr SnsProvider::find_topic(std::string_view arn) const {
  std::shared_lock lock(dir_mu_);
  auto it = topics_.find(std::string(arn));
  return it == topics_.end() ? nullptr : it->second;
}

SnsProvider::SubPtr SnsProvider::find_subscription(std::string_view arn) const {
  std::shared_lock lock(dir_mu_);
  auto it = subscriptions_.find(std::string(arn));
  return it == subscriptions_.end() ? nullptr : it->second;
}

Status SnsProvider::persist_topic(const Topic& t) { return env_.store->put(fam_, t.key(), t.to_json().dump()); }
Status SnsProvider::persist_subscription(const Subscription& s) {
  return env_.store->put(fam_, s.key(), s.to_json().dump());
}

// ----------------------------------------------------------------------------------------------
// Topics

Out SnsProvider::create_topic(RequestContext& ctx, json& p) {
  std::string name = string_member(p, "Name");
  auto attrs = string_map(p, "Attributes");
  bool fifo = attrs.count("FifoTopic") && enc::to_lower(attrs["FifoTopic"]) == "true";
  if (attrs.count("FifoTopic")) attrs["FifoTopic"] = fifo ? "true" : "false";
  if (!valid_topic_name(name, fifo)) return invalid_parameter("Topic Name");
  if (fifo != enc::ends_with(name, ".fifo")) {
    return invalid_parameter("Fifo Topic names must end with .fifo and they must have FifoTopic set to true");
  }
  for (auto& [k, v] : attrs) {
    if (!topic_settable().count(k)) return invalid_parameter("AttributeName");
    if (k == "ContentBasedDeduplication") {
      if (!fifo) return invalid_parameter("Attributes Reason: ContentBasedDeduplication is only valid for FIFO topics");
      v = enc::to_lower(v);
      if (v != "true" && v != "false") return invalid_parameter("ContentBasedDeduplication");
    }
    if ((k == "Policy" || k == "DeliveryPolicy") && !json::parse(v, nullptr, false).is_object()) {
      return invalid_parameter(fmt::format("Attributes Reason: {} : Invalid JSON", k));
    }
  }
  if (auto dp = p.find("DataProtectionPolicy"); dp != p.end() && dp->is_string()) attrs["DataProtectionPolicy"] = *dp;
  std::map<std::string, std::string> tags;
  if (auto t = p.find("Tags"); t != p.end() && t->is_array()) {
    for (auto& tag : *t) tags[tag.value("Key", "")] = tag.value("Value", "");
  }
  if (tags.size() > 50) return ServiceError("TagLimitExceededException", "Could not complete request: tag quota of per resource exceeded");
  std::string arn = ids::arn("sns", ctx.region, ctx.account, name);
  std::unique_lock lock(dir_mu_);
  if (auto it = topics_.find(arn); it != topics_.end()) {
    Topic& t = *it->second;
    std::lock_guard tl(t.mu);
    for (auto& [k, v] : attrs) {
      auto have = t.attributes.find(k);
      if (have == t.attributes.end() || have->second != v) {
        return invalid_parameter("Attributes Reason: Topic already exists with different attributes");
      }
    }
    if (!tags.empty() && tags != t.tags) return invalid_parameter("Tags Reason: Topic already exists with different tags");
    return protocol::OperationOutput(json{{"TopicArn", arn}});
  }
  auto t = std::make_shared<Topic>();
  t->account = ctx.account;
  t->region = ctx.region;
  t->name = name;
  t->arn = arn;
  t->attributes = attrs;
  t->tags = tags;
  t->fifo = fifo;
  t->created_ms = env_.clock->now_ms();
  if (Status st = persist_topic(*t); !st.is_ok()) return ServiceError::internal(st.to_string());
  topics_[arn] = t;
  return protocol::OperationOutput(json{{"TopicArn", arn}});
}

Out SnsProvider::delete_topic(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "TopicArn");
  if (!parse_arn(arn)) return invalid_parameter("TopicArn");
  std::unique_lock lock(dir_mu_);
  auto it = topics_.find(arn);
  if (it == topics_.end()) return topic_not_found();
  TopicPtr t = it->second;
  std::lock_guard tl(t->mu);
  storage::WriteBatch batch;
  batch.del(fam_, t->key());
  std::string dedup_begin = storage::key::KeyBuilder(t->account, t->region).str("d").str(t->name).take();
  batch.delete_range(fam_, dedup_begin, storage::key::prefix_end(dedup_begin));
  for (auto& s : t->subs) {
    batch.del(fam_, s->key());
    subscriptions_.erase(s->arn);
  }
  if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  t->deleted = true;
  t->subs.clear();
  topics_.erase(it);
  return protocol::OperationOutput();
}

Out SnsProvider::list_topics(RequestContext& ctx, json& p) {
  std::string token = string_member(p, "NextToken");
  std::string after = token.empty() ? "" : enc::base64_decode(token).value_or("\xff");
  json list = json::array();
  json result = json::object();
  std::shared_lock lock(dir_mu_);
  for (auto it = after.empty() ? topics_.begin() : topics_.upper_bound(after); it != topics_.end(); ++it) {
    if (it->second->account != ctx.account || it->second->region != ctx.region) continue;
    if (list.size() == kPageSize) {
      result["NextToken"] = enc::base64_encode(list.back()["TopicArn"].get<std::string>());
      break;
    }
    list.push_back({{"TopicArn", it->first}});
  }
  result["Topics"] = list;
  return protocol::OperationOutput(std::move(result));
}

Out SnsProvider::get_topic_attributes(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "TopicArn");
  if (!parse_arn(arn)) return invalid_parameter("TopicArn");
  TopicPtr t = find_topic(arn);
  if (!t) return topic_not_found();
  std::lock_guard tl(t->mu);
  json a = json::object();
  for (auto& [k, v] : t->attributes) a[k] = v;
  int confirmed = 0, pending = 0;
  for (auto& s : t->subs) (s->confirmed ? confirmed : pending)++;
  a["TopicArn"] = t->arn;
  a["Owner"] = t->account;
  if (!t->attributes.count("Policy")) a["Policy"] = default_policy(t->arn, t->account);
  if (!t->attributes.count("DisplayName")) a["DisplayName"] = "";
  a["SubscriptionsConfirmed"] = std::to_string(confirmed);
  a["SubscriptionsPending"] = std::to_string(pending);
  a["SubscriptionsDeleted"] = std::to_string(t->subscriptions_deleted);
  a["EffectiveDeliveryPolicy"] = t->attributes.count("DeliveryPolicy") ? t->attributes["DeliveryPolicy"] : kDefaultDeliveryPolicy;
  if (t->fifo) {
    a["FifoTopic"] = "true";
    a["ContentBasedDeduplication"] = t->content_dedup() ? "true" : "false";
  }
  return protocol::OperationOutput(json{{"Attributes", a}});
}

Out SnsProvider::set_topic_attributes(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "TopicArn");
  std::string name = string_member(p, "AttributeName");
  std::string value = string_member(p, "AttributeValue");
  if (!parse_arn(arn)) return invalid_parameter("TopicArn");
  if (!topic_settable().count(name) || name == "FifoTopic") return invalid_parameter("AttributeName");
  TopicPtr t = find_topic(arn);
  if (!t) return topic_not_found();
  std::lock_guard tl(t->mu);
  if (name == "ContentBasedDeduplication") {
    if (!t->fifo) return invalid_parameter("Attributes Reason: ContentBasedDeduplication is only valid for FIFO topics");
    value = enc::to_lower(value);
    if (value != "true" && value != "false") return invalid_parameter("ContentBasedDeduplication");
  }
  if ((name == "Policy" || name == "DeliveryPolicy") && !value.empty() &&
      !json::parse(value, nullptr, false).is_object()) {
    return invalid_parameter(fmt::format("Attributes Reason: {} : Invalid JSON", name));
  }
  if (value.empty() && name != "DisplayName") {
    t->attributes.erase(name);
  } else {
    t->attributes[name] = value;
  }
  if (Status st = persist_topic(*t); !st.is_ok()) return ServiceError::internal(st.to_string());
  return protocol::OperationOutput();
}

// Loads a topic's policy (the default one when it has no statements; a single statement object
// becomes a list of one), lets `edit` change it, and stores it back.
template <class Edit>
Out edit_topic_policy(SnsProvider::Topic& t, Edit edit, const std::function<Status(const SnsProvider::Topic&)>& persist) {
  std::lock_guard tl(t.mu);
  auto policy = json::parse(t.attributes.count("Policy") ? t.attributes["Policy"] : default_policy(t.arn, t.account),
                            nullptr, false);
  if (!policy.is_object() || !policy.contains("Statement")) {
    policy = json::parse(default_policy(t.arn, t.account));
  }
  statements_of(policy);  // a single statement object becomes a list of one
  if (auto err = edit(policy)) return std::move(*err);
  t.attributes["Policy"] = policy.dump();
  if (Status st = persist(t); !st.is_ok()) return ServiceError::internal(st.to_string());
  return protocol::OperationOutput();
}

Out SnsProvider::add_permission(RequestContext& ctx, json& p) {
  TopicPtr t = find_topic(string_member(p, "TopicArn"));
  if (!t) return topic_not_found();
  std::string label = string_member(p, "Label");
  json principals = json::array();
  for (auto& a : p.value("AWSAccountId", json::array())) principals.push_back("arn:aws:iam::" + a.get<std::string>() + ":root");
  json actions = json::array();
  for (auto& a : p.value("ActionName", json::array())) actions.push_back("SNS:" + a.get<std::string>());
  return edit_topic_policy(
      *t,
      [&](json& policy) -> std::optional<ServiceError> {
        for (auto& s : policy["Statement"]) {
          if (string_member(s, "Sid") == label) return invalid_parameter("Statement already exists");
        }
        policy["Statement"].push_back({{"Sid", label},
                                       {"Effect", "Allow"},
                                       {"Principal", {{"AWS", principals.size() == 1 ? principals[0] : principals}}},
                                       {"Action", actions.size() == 1 ? actions[0] : actions},
                                       {"Resource", t->arn}});
        return std::nullopt;
      },
      [this](const Topic& topic) { return persist_topic(topic); });
}

Out SnsProvider::remove_permission(RequestContext& ctx, json& p) {
  TopicPtr t = find_topic(string_member(p, "TopicArn"));
  if (!t) return topic_not_found();
  std::string label = string_member(p, "Label");
  return edit_topic_policy(
      *t,
      [&](json& policy) -> std::optional<ServiceError> {
        json kept = json::array();
        for (auto& s : policy["Statement"]) {
          if (string_member(s, "Sid") != label) kept.push_back(s);
        }
        policy["Statement"] = kept;
        return std::nullopt;
      },
      [this](const Topic& topic) { return persist_topic(topic); });
}

// Tags belong to topics.
Out SnsProvider::tag_resource(RequestContext& ctx, json& p) {
  TopicPtr t = find_topic(string_member(p, "ResourceArn"));
  if (!t) return ServiceError("ResourceNotFoundException", "Resource does not exist", 404);
  std::lock_guard tl(t->mu);
  auto tags = t->tags;
  for (auto& tag : p.value("Tags", json::array())) tags[tag.value("Key", "")] = tag.value("Value", "");
  if (tags.size() > 50) return ServiceError("TagLimitExceededException", "Could not complete request: tag quota of per resource exceeded");
  t->tags = std::move(tags);
  if (Status st = persist_topic(*t); !st.is_ok()) return ServiceError::internal(st.to_string());
  return protocol::OperationOutput();
}

Out SnsProvider::untag_resource(RequestContext& ctx, json& p) {
  TopicPtr t = find_topic(string_member(p, "ResourceArn"));
  if (!t) return ServiceError("ResourceNotFoundException", "Resource does not exist", 404);
  std::lock_guard tl(t->mu);
  for (auto& k : p.value("TagKeys", json::array())) t->tags.erase(k.get<std::string>());
  if (Status st = persist_topic(*t); !st.is_ok()) return ServiceError::internal(st.to_string());
  return protocol::OperationOutput();
}

Out SnsProvider::list_tags(RequestContext& ctx, json& p) {
  TopicPtr t = find_topic(string_member(p, "ResourceArn"));
  if (!t) return ServiceError("ResourceNotFoundException", "Resource does not exist", 404);
  std::lock_guard tl(t->mu);
  json tags = json::array();
  for (auto& [k, v] : t->tags) tags.push_back({{"Key", k}, {"Value", v}});
  return protocol::OperationOutput(json{{"Tags", tags}});
}

// ----------------------------------------------------------------------------------------------
// Subscriptions

namespace {

const std::set<std::string>& sub_settable() {
  static const std::set<std::string> k = {"DeliveryPolicy", "FilterPolicy", "FilterPolicyScope", "RawMessageDelivery",
                                          "RedrivePolicy", "SubscriptionRoleArn", "ReplayPolicy"};
  return k;
}

// Checks one subscription attribute (normalizing booleans) for a subscription of `protocol`.
std::optional<ServiceError> check_sub_attribute(const std::string& name, std::string& value, const std::string& protocol,
                                                const std::map<std::string, std::string>& others) {
  if (!sub_settable().count(name)) return invalid_parameter("AttributeName");
  if (name == "RawMessageDelivery") {
    value = enc::to_lower(value);
    if (value != "true" && value != "false") return invalid_parameter("Attributes Reason: RawMessageDelivery: Invalid value [" + value + "]. Must be true or false.");
    if (value == "true" && protocol != "sqs" && protocol != "http" && protocol != "https" && protocol != "firehose") {
      return invalid_parameter("Attributes Reason: Delivery protocol [" + protocol + "] does not support raw message delivery.");
    }
  } else if (name == "FilterPolicyScope") {
    if (value != "MessageAttributes" && value != "MessageBody") {
      return invalid_parameter("Attributes Reason: FilterPolicyScope: Invalid value [" + value + "]. Please use either MessageBody or MessageAttributes");
    }
  } else if (name == "FilterPolicy") {
    if (value.empty()) return std::nullopt;
    auto j = json::parse(value, nullptr, false);
    auto scope = others.find("FilterPolicyScope");
    bool body = scope != others.end() && scope->second == "MessageBody";
    if (j.is_discarded()) return invalid_parameter("FilterPolicy: failed to parse JSON.");
    if (auto err = validate_filter_policy(j, body)) return invalid_parameter("FilterPolicy: " + *err);
  } else if (name == "RedrivePolicy" || name == "DeliveryPolicy") {
    if (value.empty()) return std::nullopt;
    auto j = json::parse(value, nullptr, false);
    if (!j.is_object()) return invalid_parameter(name + ": failed to parse JSON.");
    if (name == "RedrivePolicy" && !j.contains("deadLetterTargetArn")) {
      return invalid_parameter("RedrivePolicy: deadLetterTargetArn is missing");
    }
    if (name == "RedrivePolicy" && !j["deadLetterTargetArn"].is_string()) {
      return invalid_parameter("RedrivePolicy: deadLetterTargetArn must be the ARN of a queue");
    }
  }
  return std::nullopt;
}

// numRetries / minDelayTarget from a DeliveryPolicy (subscription or topic level).
void retry_policy(const std::string& policy, int* retries, int* delay_s) {
  auto j = json::parse(policy, nullptr, false);
  if (!j.is_object()) return;
  const json* rp = nullptr;
  if (j.contains("healthyRetryPolicy")) rp = &j["healthyRetryPolicy"];
  if (j.contains("http") && j["http"].contains("defaultHealthyRetryPolicy")) rp = &j["http"]["defaultHealthyRetryPolicy"];
  if (!rp || !rp->is_object()) return;
  if (rp->contains("numRetries") && (*rp)["numRetries"].is_number_integer()) *retries = (*rp)["numRetries"].get<int>();
  if (rp->contains("minDelayTarget") && (*rp)["minDelayTarget"].is_number_integer()) {
    *delay_s = std::max(1, (*rp)["minDelayTarget"].get<int>());
  }
}

}  // namespace

Out SnsProvider::subscribe(RequestContext& ctx, json& p) {
  std::string topic_arn = string_member(p, "TopicArn");
  std::string protocol = enc::to_lower(string_member(p, "Protocol"));
  std::string endpoint = string_member(p, "Endpoint");
  bool return_arn = p.value("ReturnSubscriptionArn", false);
  if (!parse_arn(topic_arn)) return invalid_parameter("TopicArn");
  static const std::set<std::string> kProtocols = {"http", "https", "email", "email-json", "sms", "sqs",
                                                   "application", "lambda", "firehose"};
  if (!kProtocols.count(protocol)) return invalid_parameter("Amazon SNS does not support this protocol string: " + protocol);
  if (protocol == "sqs" && !enc::starts_with(endpoint, "arn:aws:sqs:")) return invalid_parameter("SQS endpoint ARN");
  if (protocol == "lambda" && !enc::starts_with(endpoint, "arn:aws:lambda:")) return invalid_parameter("Lambda endpoint ARN");
  if (protocol == "http" && !enc::starts_with(enc::to_lower(endpoint), "http://")) return invalid_parameter("Endpoint must match the specified protocol");
  if (protocol == "https" && !enc::starts_with(enc::to_lower(endpoint), "https://")) return invalid_parameter("Endpoint must match the specified protocol");
  if ((protocol == "email" || protocol == "email-json") && endpoint.find('@') == std::string::npos) return invalid_parameter("Email address");
  if (endpoint.empty()) return invalid_parameter("Endpoint");
  auto attrs = string_map(p, "Attributes");
  for (auto& [k, v] : attrs) {
    if (auto err = check_sub_attribute(k, v, protocol, attrs)) return std::move(*err);
  }
  TopicPtr t = find_topic(topic_arn);
  if (!t) return topic_not_found();
  if (protocol == "sqs" && enc::ends_with(endpoint, ".fifo") && !t->fifo) {
    return invalid_parameter("Endpoint Reason: FIFO SQS Queues can not be subscribed to standard SNS topics");
  }
  std::shared_ptr<Subscription> sub;
  {
    std::lock_guard tl(t->mu);
    if (t->deleted) return topic_not_found();
    for (auto& s : t->subs) {
      if (s->protocol == protocol && s->endpoint == endpoint) {
        for (auto& [k, v] : attrs) {
          auto have = s->attributes.find(k);
          if (have == s->attributes.end() || have->second != v) {
            return invalid_parameter("Attributes Reason: Subscription already exists with different attributes");
          }
        }
        return protocol::OperationOutput(
            json{{"SubscriptionArn", s->confirmed || return_arn ? s->arn : std::string("pending confirmation")}});
      }
    }
    sub = std::make_shared<Subscription>();
    sub->account = ctx.account;
    sub->region = ctx.region;
    sub->arn = topic_arn + ":" + ids::uuid();
    sub->topic_arn = topic_arn;
    sub->protocol = protocol;
    sub->endpoint = endpoint;
    sub->owner = ctx.account;
    sub->attributes = attrs;
    sub->confirmed = !(protocol == "http" || protocol == "https" || protocol == "email" || protocol == "email-json");
    if (!sub->confirmed) sub->token = ids::random_hex(128);
    sub->apply();
    if (Status st = persist_subscription(*sub); !st.is_ok()) return ServiceError::internal(st.to_string());
    t->subs.push_back(sub);
    if (!sub->confirmed) send_confirmation(ctx, *t, *sub);
  }
  {
    std::unique_lock lock(dir_mu_);
    subscriptions_[sub->arn] = sub;
  }
  return protocol::OperationOutput(
      json{{"SubscriptionArn", sub->confirmed || return_arn ? sub->arn : std::string("pending confirmation")}});
}

// Under the topic's lock: writes the confirmation request to the outbox and sends it.
void SnsProvider::send_confirmation(const RequestContext& ctx, const Topic& t, const Subscription& s) {
  Delivery d;
  d.seq = next_seq();
  d.kind = "SubscriptionConfirmation";
  d.protocol = s.protocol;
  d.endpoint = s.endpoint;
  d.sub_arn = s.arn;
  d.topic_arn = t.arn;
  d.message_id = ids::uuid();
  d.retries = 3;
  d.retry_delay_s = 1;
  std::string text = "You have chosen to subscribe to the topic " + t.arn +
                     ".\nTo confirm the subscription, visit the SubscribeURL included in this message.";
  std::string url = ctx.endpoint + "/?Action=ConfirmSubscription&TopicArn=" + enc::percent_encode(t.arn) +
                    "&Token=" + s.token;
  std::string ts = timefmt::iso8601_ms(env_.clock->now_ms());
  d.subject = "AWS Notification - Subscription Confirmation";
  d.body = envelope({{"Type", "SubscriptionConfirmation"},
                     {"MessageId", d.message_id},
                     {"Token", s.token},
                     {"TopicArn", t.arn},
                     {"Message", text},
                     {"SubscribeURL", url},
                     {"Timestamp", ts},
                     {"SignatureVersion", "1"},
                     {"Signature", signature_of(d.message_id + text + ts)},
                     {"SigningCertURL", "https://sns." + t.region + ".amazonaws.com/SimpleNotificationService-sless.pem"}});
  if (Status st = env_.store->put(fam_, d.key(), d.to_json().dump()); !st.is_ok()) {
    log::warn("sns: cannot persist a confirmation request: {}", st.to_string());
  }
  env_.scheduler->post([this, d = std::move(d)]() mutable { dispatch(std::move(d)); });
}

Out SnsProvider::confirm_subscription(RequestContext& ctx, json& p) {
  std::string topic_arn = string_member(p, "TopicArn");
  std::string token = string_member(p, "Token");
  TopicPtr t = find_topic(topic_arn);
  if (!t) return topic_not_found();
  std::lock_guard tl(t->mu);
  for (auto& s : t->subs) {
    if (!s->token.empty() && s->token == token) {
      s->confirmed = true;
      if (Status st = persist_subscription(*s); !st.is_ok()) return ServiceError::internal(st.to_string());
      return protocol::OperationOutput(json{{"SubscriptionArn", s->arn}});
    }
  }
  return invalid_parameter("Token");
}

Out SnsProvider::unsubscribe(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "SubscriptionArn");
  auto parts = parse_arn(arn);
  if (!parts || parts->sub.empty()) return invalid_parameter("SubscriptionArn");
  SubPtr s = find_subscription(arn);
  if (!s) return sub_not_found();
  TopicPtr t = find_topic(s->topic_arn);
  if (t) {
    std::lock_guard tl(t->mu);
    t->subs.erase(std::remove(t->subs.begin(), t->subs.end(), s), t->subs.end());
    t->subscriptions_deleted++;
    storage::WriteBatch batch;
    batch.del(fam_, s->key());
    batch.put(fam_, t->key(), t->to_json().dump());
    if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  } else if (Status st = env_.store->del(fam_, s->key()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  std::unique_lock lock(dir_mu_);
  subscriptions_.erase(arn);
  return protocol::OperationOutput();
}

Out SnsProvider::list_subscriptions(RequestContext& ctx, json& p, bool by_topic) {
  std::string topic_arn = string_member(p, "TopicArn");
  std::string token = string_member(p, "NextToken");
  std::string after = token.empty() ? "" : enc::base64_decode(token).value_or("\xff");
  if (by_topic && !find_topic(topic_arn)) return topic_not_found();
  std::vector<SubPtr> subs;
  {
    std::shared_lock lock(dir_mu_);
    for (auto it = after.empty() ? subscriptions_.begin() : subscriptions_.upper_bound(after);
         it != subscriptions_.end(); ++it) {
      const auto& s = it->second;
      if (by_topic ? s->topic_arn != topic_arn : (s->account != ctx.account || s->region != ctx.region)) continue;
      subs.push_back(s);
      if (subs.size() > kPageSize) break;
    }
  }
  json list = json::array();
  json result = json::object();
  for (size_t i = 0; i < subs.size() && i < kPageSize; ++i) {
    auto& s = subs[i];
    bool confirmed = false;
    if (TopicPtr t = find_topic(s->topic_arn)) {
      std::lock_guard tl(t->mu);
      confirmed = s->confirmed;
    }
    list.push_back({{"SubscriptionArn", confirmed ? s->arn : std::string("PendingConfirmation")},
                    {"Owner", s->owner},
                    {"Protocol", s->protocol},
                    {"Endpoint", s->endpoint},
                    {"TopicArn", s->topic_arn}});
  }
  if (subs.size() > kPageSize) result["NextToken"] = enc::base64_encode(subs[kPageSize - 1]->arn);
  result["Subscriptions"] = list;
  return protocol::OperationOutput(std::move(result));
}

Out SnsProvider::get_subscription_attributes(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "SubscriptionArn");
  auto parts = parse_arn(arn);
  if (!parts || parts->sub.empty()) return invalid_parameter("SubscriptionArn");
  SubPtr s = find_subscription(arn);
  if (!s) return sub_not_found();
  TopicPtr t = find_topic(s->topic_arn);
  if (!t) return sub_not_found();
  std::lock_guard tl(t->mu);
  json a = json::object();
  for (auto& [k, v] : s->attributes) a[k] = v;
  a["SubscriptionArn"] = s->arn;
  a["TopicArn"] = s->topic_arn;
  a["Owner"] = s->owner;
  a["Protocol"] = s->protocol;
  a["Endpoint"] = s->endpoint;
  a["ConfirmationWasAuthenticated"] = s->confirmed ? "true" : "false";
  a["PendingConfirmation"] = s->confirmed ? "false" : "true";
  a["SubscriptionPrincipal"] = "arn:aws:iam::" + s->owner + ":root";
  if (!s->attributes.count("RawMessageDelivery")) a["RawMessageDelivery"] = "false";
  if (s->attributes.count("FilterPolicy") && !s->attributes.count("FilterPolicyScope")) {
    a["FilterPolicyScope"] = "MessageAttributes";
  }
  if (s->protocol == "http" || s->protocol == "https") {
    a["EffectiveDeliveryPolicy"] = s->attributes.count("DeliveryPolicy")    ? s->attributes["DeliveryPolicy"]
                                   : t->attributes.count("DeliveryPolicy") ? t->attributes["DeliveryPolicy"]
                                                                           : kDefaultDeliveryPolicy;
  }
  return protocol::OperationOutput(json{{"Attributes", a}});
}

Out SnsProvider::set_subscription_attributes(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "SubscriptionArn");
  std::string name = string_member(p, "AttributeName");
  std::string value = string_member(p, "AttributeValue");
  auto parts = parse_arn(arn);
  if (!parts || parts->sub.empty()) return invalid_parameter("SubscriptionArn");
  SubPtr s = find_subscription(arn);
  if (!s) return sub_not_found();
  TopicPtr t = find_topic(s->topic_arn);
  if (!t) return sub_not_found();
  std::lock_guard tl(t->mu);
  auto others = s->attributes;
  if (name == "FilterPolicyScope" && s->attributes.count("FilterPolicy")) {
    // Re-check the existing policy under the new scope.
    others["FilterPolicyScope"] = value;
    std::string fp = s->attributes["FilterPolicy"];
    if (auto err = check_sub_attribute("FilterPolicy", fp, s->protocol, others)) return std::move(*err);
  }
  if (auto err = check_sub_attribute(name, value, s->protocol, others)) return std::move(*err);
  if (value.empty() && name != "RawMessageDelivery") {
    s->attributes.erase(name);
    if (name == "FilterPolicy") s->attributes.erase("FilterPolicyScope");
  } else {
    s->attributes[name] = value;
  }
  s->apply();
  if (Status st = persist_subscription(*s); !st.is_ok()) return ServiceError::internal(st.to_string());
  return protocol::OperationOutput();
}

// ----------------------------------------------------------------------------------------------
// Publishing

namespace {

std::optional<ServiceError> check_message_attributes(const json& attrs, size_t* size) {
  if (!attrs.is_object()) return std::nullopt;
  if (attrs.size() > 10) return invalid_value("Number of message attributes [" + std::to_string(attrs.size()) + "] exceeds the allowed maximum [10].");
  for (auto& [name, v] : attrs.items()) {
    std::string type = v.value("DataType", "");
    *size += name.size() + type.size();
    bool binary = enc::starts_with(type, "Binary");
    if (!enc::starts_with(type, "String") && !enc::starts_with(type, "Number") && !binary) {
      return invalid_value("The message attribute '" + name + "' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.");
    }
    if (binary) {
      if (!v.contains("BinaryValue")) return invalid_value("The message attribute '" + name + "' with type 'Binary' must use field 'Binary'.");
      *size += v["BinaryValue"].get<std::string>().size() * 3 / 4;
      continue;
    }
    std::string s = v.value("StringValue", "");
    if (s.empty()) {
      return invalid_value("The message attribute '" + name + "' must contain non-empty message attribute value for message attribute type '" + type.substr(0, type.find('.')) + "'.");
    }
    if (enc::starts_with(type, "Number") && !json::parse(s, nullptr, false).is_number()) {
      return invalid_value("An error occurred while trying to validate the Number attribute '" + name + "'.");
    }
    if (type == "String.Array" && !json::parse(s, nullptr, false).is_array()) {
      return invalid_parameter("Message attribute '" + name + "' of type String.Array must be a JSON array.");
    }
    *size += s.size();
  }
  return std::nullopt;
}

}  // namespace

Outcome<json> SnsProvider::publish_one(const RequestContext& ctx, const TopicPtr& topic, PublishInput& in,
                                       storage::WriteBatch& batch, std::vector<Delivery>& out) {
  if (in.message.empty()) return invalid_parameter("Empty message");
  size_t size = in.message.size();
  if (auto err = check_message_attributes(in.attributes, &size)) return std::move(*err);
  if (size > kMaxMessageBytes) return invalid_parameter("Message too long");
  if (!in.subject.empty()) {
    if (in.subject.size() > 100 || std::any_of(in.subject.begin(), in.subject.end(), [](char c) {
          return c == '\n' || c == '\r' || static_cast<unsigned char>(c) < 0x20;
        })) {
      return invalid_parameter("Subject");
    }
  }
  json structured;
  if (!in.structure.empty()) {
    if (in.structure != "json") return invalid_parameter("MessageStructure");
    structured = json::parse(in.message, nullptr, false);
    if (!structured.is_object()) return invalid_parameter("Message Structure - JSON message body failed to parse");
    if (!structured.contains("default") || !structured["default"].is_string()) {
      return invalid_parameter("Message Structure - No default entry in JSON message body");
    }
  }
  int64_t now = env_.clock->now_ms();
  std::lock_guard tl(topic->mu);
  if (topic->deleted) return topic_not_found();
  json result;
  std::string sequence;
  if (topic->fifo) {
    if (in.group_id.empty()) return invalid_parameter("The MessageGroupId parameter is required for FIFO topics");
    if (in.dedup_id.empty()) {
      if (!topic->content_dedup()) {
        return invalid_parameter("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly");
      }
      in.dedup_id = enc::hex_encode(crypto::sha256(in.message));
    }
    for (auto it = topic->dedup.begin(); it != topic->dedup.end();) {
      if (it->second.first <= now) {
        batch.del(fam_, topic->dedup_key(it->first));
        it = topic->dedup.erase(it);
      } else {
        ++it;
      }
    }
    if (auto d = topic->dedup.find(in.dedup_id); d != topic->dedup.end()) return d->second.second;
  } else {
    if (!in.dedup_id.empty()) {
      return invalid_parameter("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type");
    }
  }
  std::string message_id = ids::uuid();
  result["MessageId"] = message_id;
  if (topic->fifo) {
    sequence = fmt::format("{:020}", next_seq());
    result["SequenceNumber"] = sequence;
    topic->dedup[in.dedup_id] = {now + kDedupWindowMs, result};
    batch.put(fam_, topic->dedup_key(in.dedup_id), json{{"x", now + kDedupWindowMs}, {"r", result}}.dump());
  }
  std::string ts = timefmt::iso8601_ms(now);
  json env_attrs = envelope_attributes(in.attributes);
  json filter_doc;  // built on first use
  json body_doc;
  bool body_parsed = false;
  for (const auto& s : topic->subs) {
    if (!s->confirmed) continue;
    std::string msg = in.message;
    if (structured.is_object()) {
      std::string key = s->protocol;
      msg = structured.contains(key) && structured[key].is_string() ? structured[key].get<std::string>()
                                                                     : structured["default"].get<std::string>();
    }
    if (!s->filter.is_null()) {
      if (s->body_scope) {
        if (!body_parsed) {
          body_doc = json::parse(msg, nullptr, false);
          body_parsed = true;
        }
        if (!body_doc.is_object() || !matches(s->filter, body_doc)) continue;
      } else {
        if (filter_doc.is_null()) filter_doc = attributes_document(in.attributes);
        if (!matches(s->filter, filter_doc)) continue;
      }
    }
    Delivery d;
    d.seq = next_seq();
    d.protocol = s->protocol;
    d.endpoint = s->endpoint;
    d.sub_arn = s->arn;
    d.topic_arn = topic->arn;
    d.message_id = message_id;
    d.subject = in.subject;
    d.raw = s->raw;
    d.dlq_arn = s->dlq_arn;
    d.group_id = in.group_id;
    d.dedup_id = in.dedup_id;
    d.retries = s->protocol == "http" || s->protocol == "https" ? 3 : 2;
    d.retry_delay_s = s->protocol == "http" || s->protocol == "https" ? 20 : 1;
    if (auto tp = topic->attributes.find("DeliveryPolicy"); tp != topic->attributes.end()) {
      retry_policy(tp->second, &d.retries, &d.retry_delay_s);
    }
    if (auto sp = s->attributes.find("DeliveryPolicy"); sp != s->attributes.end()) {
      retry_policy(sp->second, &d.retries, &d.retry_delay_s);
    }
    std::string unsubscribe = ctx.endpoint + "/?Action=Unsubscribe&SubscriptionArn=" + s->arn;
    std::string cert = "https://sns." + topic->region + ".amazonaws.com/SimpleNotificationService-sless.pem";
    std::string signature = signature_of(message_id + msg + ts + topic->arn);
    if (s->protocol == "lambda") {
      json sns = {{"Type", "Notification"},
                  {"MessageId", message_id},
                  {"TopicArn", topic->arn},
                  {"Subject", in.subject.empty() ? json() : json(in.subject)},
                  {"Message", msg},
                  {"Timestamp", ts},
                  {"SignatureVersion", "1"},
                  {"Signature", signature},
                  {"SigningCertUrl", cert},
                  {"UnsubscribeUrl", unsubscribe},
                  {"MessageAttributes", env_attrs}};
      if (topic->fifo) {
        sns["SequenceNumber"] = sequence;
        sns["MessageGroupId"] = in.group_id;
      }
      d.lambda_event = {{"Records",
                         {{{"EventSource", "aws:sns"},
                           {"EventVersion", "1.0"},
                           {"EventSubscriptionArn", s->arn},
                           {"Sns", sns}}}}};
    } else if (s->raw || s->protocol == "email" || s->protocol == "sms") {
      d.body = msg;
      if (s->raw && s->protocol == "sqs" && in.attributes.is_object() && !in.attributes.empty()) {
        d.sqs_attributes = in.attributes;
      }
    } else {
      std::vector<Field> fields;
      fields.reserve(12);
      fields.push_back({"Type", "Notification"});
      fields.push_back({"MessageId", message_id});
      if (topic->fifo) fields.push_back({"SequenceNumber", sequence});
      fields.push_back({"TopicArn", topic->arn});
      if (!in.subject.empty()) fields.push_back({"Subject", in.subject});
      fields.push_back({"Message", msg});
      fields.push_back({"Timestamp", ts});
      if (!topic->fifo) {
        fields.push_back({"SignatureVersion", "1"});
        fields.push_back({"Signature", signature});
        fields.push_back({"SigningCertURL", cert});
      }
      fields.push_back({"UnsubscribeURL", unsubscribe});
      if (!env_attrs.empty()) fields.push_back({"MessageAttributes", {}, &env_attrs});
      d.body = envelope(fields);
    }
    out.push_back(std::move(d));
  }
  return result;
}

Out SnsProvider::publish(RequestContext& ctx, json& p) {
  std::string target = string_member(p, "TopicArn");
  if (target.empty()) target = string_member(p, "TargetArn");
  std::string phone = string_member(p, "PhoneNumber");
  PublishInput in;
  in.message = string_member(p, "Message");
  in.subject = string_member(p, "Subject");
  in.structure = string_member(p, "MessageStructure");
  in.group_id = string_member(p, "MessageGroupId");
  in.dedup_id = string_member(p, "MessageDeduplicationId");
  if (auto a = p.find("MessageAttributes"); a != p.end() && a->is_object()) in.attributes = *a;
  if (target.empty() && phone.empty()) {
    return invalid_parameter("TopicArn or TargetArn Reason: no value for required parameter");
  }
  if (target.empty()) {
    // A direct SMS: recorded.
    if (phone.size() < 2 || phone[0] != '+' ||
        !std::all_of(phone.begin() + 1, phone.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
      return invalid_parameter("PhoneNumber Reason: " + phone + " is not valid to publish to");
    }
    if (in.message.empty()) return invalid_parameter("Empty message");
    Delivery d;
    d.seq = next_seq();
    d.protocol = "sms";
    d.endpoint = phone;
    d.message_id = ids::uuid();
    d.body = in.message;
    record(d);
    return protocol::OperationOutput(json{{"MessageId", d.message_id}});
  }
  auto parts = parse_arn(target);
  if (!parts) return invalid_parameter("TopicArn");
  TopicPtr t = find_topic(target);
  if (!t) return topic_not_found();
  storage::WriteBatch batch;
  std::vector<Delivery> deliveries;
  auto r = publish_one(ctx, t, in, batch, deliveries);
  if (!r) return std::move(r).error();
  if (auto err = write_and_deliver(batch, std::move(deliveries))) return std::move(*err);
  return protocol::OperationOutput(std::move(r).value());
}

Out SnsProvider::publish_batch(RequestContext& ctx, json& p) {
  std::string arn = string_member(p, "TopicArn");
  if (!parse_arn(arn)) return invalid_parameter("TopicArn");
  TopicPtr t = find_topic(arn);
  if (!t) return topic_not_found();
  static const json kNoEntries = json::array();
  auto found = p.find("PublishBatchRequestEntries");
  const json& entries = found != p.end() && found->is_array() ? *found : kNoEntries;
  if (entries.empty()) return ServiceError("EmptyBatchRequestException", "The batch request doesn't contain any entries.");
  if (entries.size() > 10) {
    return ServiceError("TooManyEntriesInBatchRequestException", "The batch request contains more entries than permissible.");
  }
  std::set<std::string> ids_seen;
  size_t total = 0;
  for (auto& e : entries) {
    std::string id = e.value("Id", "");
    if (!valid_batch_id(id)) {
      return ServiceError("InvalidBatchEntryIdException", "The Id of a batch entry in a batch request doesn't abide by the specification.");
    }
    if (!ids_seen.insert(id).second) {
      return ServiceError("BatchEntryIdsNotDistinctException", "Two or more batch entries in the request have the same Id.");
    }
    total += e.value("Message", "").size();
  }
  if (total > kMaxMessageBytes) {
    return ServiceError("BatchRequestTooLongException", "The length of all the messages put together is more than the limit.");
  }
  json ok = json::array();
  json failed = json::array();
  storage::WriteBatch batch;
  std::vector<Delivery> deliveries;
  for (auto& e : entries) {
    PublishInput in;
    in.message = e.value("Message", "");
    in.subject = e.value("Subject", "");
    in.structure = e.value("MessageStructure", "");
    in.group_id = e.value("MessageGroupId", "");
    in.dedup_id = e.value("MessageDeduplicationId", "");
    if (e.contains("MessageAttributes") && e["MessageAttributes"].is_object()) in.attributes = e["MessageAttributes"];
    auto r = publish_one(ctx, t, in, batch, deliveries);
    if (!r) {
      json f = {{"Id", e.value("Id", "")}, {"Code", r.error().code}, {"Message", r.error().message}, {"SenderFault", r.error().sender_fault}};
      if (enc::ends_with(f["Code"].get<std::string>(), "Exception")) {
        std::string c = f["Code"];
        f["Code"] = c.substr(0, c.size() - 9);
      }
      failed.push_back(std::move(f));
      continue;
    }
    json s = r.value();
    s["Id"] = e.value("Id", "");
    ok.push_back(std::move(s));
  }
  if (auto err = write_and_deliver(batch, std::move(deliveries))) return std::move(*err);
  json out = json::object();
  out["Successful"] = std::move(ok);
  out["Failed"] = std::move(failed);
  return protocol::OperationOutput(std::move(out));
}

// ----------------------------------------------------------------------------------------------
// Delivery

// SQS deliveries the queue accepts go into the publish's own WriteBatch (one write for the
// publish and its messages); every other delivery is written to the outbox in that batch and
// dispatched once it is durable.
std::optional<ServiceError> SnsProvider::write_and_deliver(storage::WriteBatch& batch, std::vector<Delivery> deliveries) {
  auto* q = sqs();
  std::vector<sqs::SqsProvider::Staged> staged;
  staged.reserve(deliveries.size());
  std::vector<Delivery> rest;
  for (auto& d : deliveries) {
    if (d.protocol == "sqs" && q) {
      auto s = q->stage(d.endpoint, sqs_input(d, *q), batch);
      if (s) {
        staged.push_back(std::move(s).value());
        continue;
      }
    }
    batch.put(fam_, d.key(), d.to_json().dump());
    rest.push_back(std::move(d));
  }
  if (!batch.empty()) {
    if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  }
  for (auto& s : staged) q->commit(std::move(s));
  for (auto& d : rest) dispatch(std::move(d));
  return std::nullopt;
}

sqs::SendInput SnsProvider::sqs_input(const Delivery& d, sqs::SqsProvider& q) {
  sqs::SendInput in;
  in.body = d.body;
  if (d.sqs_attributes.is_object()) in.attributes = d.sqs_attributes;
  in.group_id = d.group_id;
  in.dedup_id = d.dedup_id;
  in.sender_id = "sns.amazonaws.com";
  if (d.group_id.empty() && d.dedup_id.empty()) return in;
  if (auto info = q.queue_info(d.endpoint); info && !info->fifo) {
    in.group_id.clear();
    in.dedup_id.clear();
  }
  return in;
}

void SnsProvider::dispatch(Delivery d) {
  if (stopping_) return;  // stays in the outbox; resumed at the next start
  if (d.protocol == "sqs") {
    deliver_sqs(std::move(d));
  } else if (d.protocol == "http" || d.protocol == "https") {
    deliver_http(std::move(d));
  } else if (d.protocol == "lambda") {
    deliver_lambda(std::move(d));
  } else {
    record(std::move(d));
  }
}

void SnsProvider::finish(const Delivery& d) {
  if (Status st = env_.store->del(fam_, d.key()); !st.is_ok()) {
    log::warn("sns: cannot clear delivery {}: {}", d.seq, st.to_string());
  }
}

void SnsProvider::deliver_sqs(Delivery d) {
  auto* q = sqs();
  if (!q) {
    retry_or_dead_letter(std::move(d));
    return;
  }
  auto r = q->send(d.endpoint, sqs_input(d, *q));
  if (r) {
    finish(d);
  } else {
    log::warn("sns: delivery to {} failed: {}", d.endpoint, r.error().message);
    retry_or_dead_letter(std::move(d));
  }
}

void SnsProvider::deliver_http(Delivery d) {
  {
    std::lock_guard l(http_mu_);
    http_jobs_.push_back(std::make_shared<Delivery>(std::move(d)));
  }
  http_cv_.notify_one();
}

void SnsProvider::http_worker() {
  while (true) {
    std::shared_ptr<Delivery> d;
    {
      std::unique_lock l(http_mu_);
      http_cv_.wait(l, [this] { return stopping_ || !http_jobs_.empty(); });
      if (stopping_) return;
      d = std::move(http_jobs_.front());
      http_jobs_.pop_front();
    }
    http::ClientRequest req;
    req.method = "POST";
    req.url = d->endpoint;
    req.body = d->body;
    req.timeout = std::chrono::milliseconds(15000);
    req.headers.add("Content-Type", "text/plain; charset=UTF-8");
    req.headers.add("User-Agent", "Amazon Simple Notification Service Agent");
    req.headers.add("x-amz-sns-message-type", d->kind);
    req.headers.add("x-amz-sns-message-id", d->message_id);
    req.headers.add("x-amz-sns-topic-arn", d->topic_arn);
    if (d->kind == "Notification") req.headers.add("x-amz-sns-subscription-arn", d->sub_arn);
    if (d->raw) req.headers.add("x-amz-sns-rawdelivery", "true");
    auto res = http::fetch(req);
    if (res.ok() && res.value().status >= 200 && res.value().status < 300) {
      finish(*d);
    } else {
      log::info("sns: http delivery to {} failed ({})", d->endpoint,
                res.ok() ? std::to_string(res.value().status) : res.status().to_string());
      retry_or_dead_letter(std::move(*d));
    }
  }
}

void SnsProvider::deliver_lambda(Delivery d) {
  LambdaDeliverer fn;
  {
    std::lock_guard l(lambda_mu_);
    if (!lambda_) {
      lambda_pending_.push_back(std::make_shared<Delivery>(std::move(d)));
      return;
    }
    fn = lambda_;
  }
  LambdaDelivery ld{d.endpoint, d.sub_arn, d.lambda_event};
  auto shared = std::make_shared<Delivery>(std::move(d));
  fn(ld, [this, shared](bool ok) {
    if (ok) {
      finish(*shared);
    } else {
      retry_or_dead_letter(std::move(*shared));
    }
  });
}

void SnsProvider::record(Delivery d) {
  json r = {{"protocol", d.protocol},   {"endpoint", d.endpoint}, {"type", d.kind},
            {"message_id", d.message_id}, {"topic_arn", d.topic_arn}, {"subscription_arn", d.sub_arn},
            {"subject", d.subject},     {"message", d.body},       {"timestamp", timefmt::iso8601_ms(env_.clock->now_ms())}};
  storage::WriteBatch batch;
  batch.put(fam_, storage::key::KeyBuilder("", "").str("r").u64(d.seq).take(), r.dump());
  if (d.seq != 0) batch.del(fam_, d.key());
  if (Status st = env_.store->write(batch); !st.is_ok()) log::warn("sns: cannot record a message: {}", st.to_string());
  std::lock_guard l(recorded_mu_);
  recorded_.push_back(std::move(r));
  if (recorded_.size() > kMaxRecorded) recorded_.pop_front();
}

void SnsProvider::retry_or_dead_letter(Delivery d) {
  if (stopping_) return;
  if (d.attempt < d.retries) {
    d.attempt++;
    auto shared = std::make_shared<Delivery>(std::move(d));
    env_.scheduler->after(std::chrono::seconds(shared->retry_delay_s), [this, shared] { dispatch(std::move(*shared)); });
    return;
  }
  if (!d.dlq_arn.empty() && d.kind == "Notification") {
    if (auto* q = sqs()) {
      sqs::SendInput in;
      in.body = d.protocol == "lambda" ? d.lambda_event.dump() : d.body;
      in.sender_id = "sns.amazonaws.com";
      in.attributes = json{{"ErrorCode", {{"DataType", "String"}, {"StringValue", "EndpointUnavailable"}}},
                           {"TopicArn", {{"DataType", "String"}, {"StringValue", d.topic_arn}}}};
      if (auto info = q->queue_info(d.dlq_arn); info && info->fifo) {
        in.group_id = d.group_id.empty() ? "sns" : d.group_id;
        in.dedup_id = d.message_id;
      }
      auto r = q->send(d.dlq_arn, std::move(in));
      if (!r) log::warn("sns: dead-letter queue {} refused a message: {}", d.dlq_arn, r.error().message);
    }
  } else {
    log::warn("sns: giving up delivering {} to {}", d.message_id, d.endpoint);
  }
  finish(d);
}

}  // namespace sless::services::sns
