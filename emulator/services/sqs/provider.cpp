#include "services/sqs/provider.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "core/clock.h"
#include "core/crypto.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::sqs {
namespace {

using Out = Outcome<protocol::OperationOutput>;
using json = nlohmann::json;

constexpr int64_t kPurgeIntervalMs = 60 * 1000;
constexpr int kMaxBatchEntries = 10;
// Messages the one-second retention sweep looks at per queue beyond the oldest (Queue::expired).
constexpr size_t kExpiryScanPerTick = 4096;

ServiceError no_queue() { return ServiceError("QueueDoesNotExist", "The specified queue does not exist."); }
ServiceError invalid(std::string message) { return ServiceError("InvalidParameterValue", std::move(message)); }
ServiceError missing(std::string_view param) {
  return ServiceError("MissingParameter", fmt::format("The request must contain the parameter {}.", param));
}
ServiceError bad_attribute_value(std::string_view name, std::string_view reason = {}) {
  return ServiceError("InvalidAttributeValue", reason.empty()
                                                   ? fmt::format("Invalid value for the parameter {}.", name)
                                                   : fmt::format("Invalid value for the parameter {}. Reason: {}", name, reason));
}
ServiceError unknown_attribute(std::string_view name) {
  return ServiceError("InvalidAttributeName", fmt::format("Unknown Attribute {}.", name));
}

std::optional<int64_t> int_param(const json& p, const char* name) {
  auto it = p.find(name);
  if (it == p.end() || it->is_null()) return std::nullopt;
  if (it->is_number_integer()) return it->get<int64_t>();
  return std::nullopt;
}

bool valid_queue_name(std::string_view name, bool* fifo) {
  *fifo = enc::ends_with(name, ".fifo");
  std::string_view base = *fifo ? name.substr(0, name.size() - 5) : name;
  if (name.empty() || name.size() > 80 || base.empty()) return false;
  return std::all_of(base.begin(), base.end(),
                     [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_'; });
}

bool valid_batch_id(std::string_view id) {
  return !id.empty() && id.size() <= 80 && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
}

const std::set<std::string>& settable_attributes() {
  static const std::set<std::string> k = {
      "DelaySeconds",          "MaximumMessageSize", "MessageRetentionPeriod", "Policy",
      "ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "RedrivePolicy",  "RedriveAllowPolicy",
      "KmsMasterKeyId",        "KmsDataKeyReusePeriodSeconds", "SqsManagedSseEnabled", "FifoQueue",
      "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit"};
  return k;
}
const std::set<std::string>& fifo_only_attributes() {
  static const std::set<std::string> k = {"FifoQueue", "ContentBasedDeduplication", "DeduplicationScope",
                                          "FifoThroughputLimit"};
  return k;
}
const std::set<std::string>& computed_attributes() {
  static const std::set<std::string> k = {"ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
                                          "ApproximateNumberOfMessagesDelayed", "CreatedTimestamp",
                                          "LastModifiedTimestamp", "QueueArn"};
  return k;
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty() || s.size() > 18) return std::nullopt;
  size_t i = (s[0] == '-') ? 1 : 0;
  if (i == s.size()) return std::nullopt;
  for (size_t k = i; k < s.size(); ++k) {
    if (!std::isdigit(static_cast<unsigned char>(s[k]))) return std::nullopt;
  }
  return std::stoll(s);
}

// Arn "arn:aws:sqs:<region>:<account>:<name>" -> (region, account, name).
bool split_arn(std::string_view arn, std::string* region, std::string* account, std::string* name) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (int i = 0; i < 5; ++i) {
    size_t colon = arn.find(':', start);
    if (colon == std::string_view::npos) return false;
    parts.push_back(arn.substr(start, colon - start));
    start = colon + 1;
  }
  if (parts[0] != "arn" || parts[2] != "sqs") return false;
  *region = std::string(parts[3]);
  *account = std::string(parts[4]);
  *name = std::string(arn.substr(start));
  return !name->empty();
}

std::string epoch_seconds(int64_t ms) { return std::to_string(ms / 1000); }

}  // namespace

// ----------------------------------------------------------------------------------------------
// Life cycle

SqsProvider::SqsProvider() {
  on_sync("CreateQueue", [this](RequestContext& c, json& p) { return create_queue(c, p); });
  on_sync("GetQueueUrl", [this](RequestContext& c, json& p) { return get_queue_url(c, p); });
  on_sync("ListQueues", [this](RequestContext& c, json& p) { return list_queues(c, p); });
  on_sync("DeleteQueue", [this](RequestContext& c, json& p) { return delete_queue(c, p); });
  on_sync("PurgeQueue", [this](RequestContext& c, json& p) { return purge_queue(c, p); });
  on_sync("GetQueueAttributes", [this](RequestContext& c, json& p) { return get_queue_attributes(c, p); });
  on_sync("SetQueueAttributes", [this](RequestContext& c, json& p) { return set_queue_attributes(c, p); });
  on_sync("ListDeadLetterSourceQueues",
          [this](RequestContext& c, json& p) { return list_dead_letter_source_queues(c, p); });
  on_sync("TagQueue", [this](RequestContext& c, json& p) { return tag_queue(c, p); });
  on_sync("UntagQueue", [this](RequestContext& c, json& p) { return untag_queue(c, p); });
  on_sync("ListQueueTags", [this](RequestContext& c, json& p) { return list_queue_tags(c, p); });
  on_sync("AddPermission", [this](RequestContext& c, json& p) { return add_permission(c, p); });
  on_sync("RemovePermission", [this](RequestContext& c, json& p) { return remove_permission(c, p); });
  on_sync("SendMessage", [this](RequestContext& c, json& p) { return send_message(c, p); });
  on_sync("SendMessageBatch", [this](RequestContext& c, json& p) { return send_message_batch(c, p); });
  on("ReceiveMessage", [this](Invocation&& inv) { receive_message(std::move(inv)); });
  on_sync("DeleteMessage", [this](RequestContext& c, json& p) { return delete_message_op(c, p); });
  on_sync("DeleteMessageBatch", [this](RequestContext& c, json& p) { return delete_message_batch(c, p); });
  on_sync("ChangeMessageVisibility", [this](RequestContext& c, json& p) { return change_visibility_op(c, p); });
  on_sync("ChangeMessageVisibilityBatch",
          [this](RequestContext& c, json& p) { return change_visibility_batch(c, p); });
  on_sync("StartMessageMoveTask", [this](RequestContext& c, json& p) { return start_move_task(c, p); });
  on_sync("ListMessageMoveTasks", [this](RequestContext& c, json& p) { return list_move_tasks(c, p); });
  on_sync("CancelMessageMoveTask", [this](RequestContext& c, json& p) { return cancel_move_task(c, p); });
}

SqsProvider::~SqsProvider() = default;

int64_t SqsProvider::now_ms() const { return env_.clock->now_ms(); }

Status SqsProvider::start(Env& env) {
  env_ = env;
  fam_ = env.store->family("sqs");
  if (!fam_) return Status::internal("cannot open the sqs column family");
  // One pass over the family: queues, messages, their states, dedup records, move tasks.
  std::unordered_map<uint64_t, QueuePtr> by_id;
  std::vector<std::pair<uint64_t, Message>> messages;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> states;
  std::vector<std::tuple<uint64_t, std::string, std::string>> dedups;
  std::vector<std::tuple<uint64_t, uint64_t, std::string>> journals;  // in key order: per queue, oldest first
  uint64_t max_seq = 0;
  auto it = env.store->iterate(fam_, "", "");
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view k = it->key();
    std::string account, region, kind;
    if (!storage::key::read_string(k, &account) || !storage::key::read_string(k, &region) ||
        !storage::key::read_string(k, &kind)) {
      continue;
    }
    if (kind == "q") {
      std::string name;
      if (!storage::key::read_string(k, &name)) continue;
      auto q = Queue::decode_meta(account, region, name, it->value());
      if (!q) continue;
      max_seq = std::max(max_seq, q->id);
      by_id[q->id] = q;
      queues_[dir_key(account, region, name)] = q;
    } else if (kind == "m" || kind == "s") {
      uint64_t qid = 0, seq = 0;
      if (!storage::key::read_u64(k, &qid) || !storage::key::read_u64(k, &seq)) continue;
      max_seq = std::max(max_seq, seq);
      if (kind == "m") {
        Message m;
        if (decode_message(it->value(), &m)) messages.emplace_back(qid, std::move(m));
      } else {
        states.emplace_back(qid, seq, std::string(it->value()));
      }
    } else if (kind == "j") {
      uint64_t qid = 0, journal = 0;
      if (!storage::key::read_u64(k, &qid) || !storage::key::read_u64(k, &journal)) continue;
      journals.emplace_back(qid, journal, std::string(it->value()));
    } else if (kind == "t") {
      auto j = json::parse(it->value(), nullptr, false);
      if (!j.is_object()) continue;
      MoveTask t;
      t.handle = j.value("handle", "");
      t.source_arn = j.value("source", "");
      t.destination_arn = j.value("destination", "");
      t.status = j.value("status", "FAILED");
      t.failure_reason = j.value("failure", "");
      t.started_ms = j.value("started", int64_t{0});
      t.max_per_second = j.value("rate", int64_t{0});
      t.moved = j.value("moved", int64_t{0});
      t.to_move = j.value("to_move", int64_t{0});
      tasks_.push_back(std::move(t));
    } else if (kind == "d") {
      uint64_t qid = 0;
      std::string dk;
      if (!storage::key::read_u64(k, &qid) || !storage::key::read_string(k, &dk)) continue;
      dedups.emplace_back(qid, std::move(dk), std::string(it->value()));
    }
  }
  for (auto& [qid, m] : messages) {
    auto q = by_id.find(qid);
    if (q != by_id.end()) q->second->insert(std::move(m));
  }
  for (auto& [qid, seq, state] : states) {
    auto q = by_id.find(qid);
    if (q != by_id.end()) q->second->restore_state(seq, state);
  }
  // Receive journals over the messages, then drop the records nothing points at any more.
  for (auto& [qid, journal, value] : journals) {
    auto q = by_id.find(qid);
    if (q != by_id.end()) q->second->restore_journal(journal, value);
  }
  storage::WriteBatch cleanup;
  for (auto& [qid, q] : by_id) {
    for (uint64_t journal : q->settle_journal()) cleanup.del(fam_, q->journal_key(journal));
  }
  if (!cleanup.empty()) {
    if (Status st = env.store->write(cleanup); !st.is_ok()) log::warn("sqs: journal cleanup failed: {}", st.to_string());
  }
  for (auto& [qid, dk, value] : dedups) {
    auto q = by_id.find(qid);
    Queue::DedupEntry e;
    if (q != by_id.end() && Queue::decode_dedup(value, &e)) q->second->dedup[dk] = e;
  }
  uint64_t floor = static_cast<uint64_t>(now_ms()) * 1024;
  seq_.store(std::max(max_seq + 1, floor));
  stopping_ = false;
  sweep_timer_ = env_.scheduler->after(std::chrono::seconds(1), [this] { sweep(); });
  // Move tasks that were running go on where they stopped.
  std::sort(tasks_.begin(), tasks_.end(), [](const MoveTask& a, const MoveTask& b) { return a.started_ms < b.started_ms; });
  for (auto& t : tasks_) {
    if (t.status != "RUNNING") continue;
    std::string handle = t.handle;
    t.timer = env_.scheduler->after(std::chrono::milliseconds(0), [this, handle] { run_move_task(handle); });
  }
  return Status::ok();
}

void SqsProvider::stop() {
  drain();
  env_.scheduler->cancel(sweep_timer_);
  std::lock_guard tl(tasks_mu_);
  for (auto& t : tasks_) env_.scheduler->cancel(t.timer);
}

void SqsProvider::drain() {
  stopping_ = true;
  std::vector<std::pair<Scheduler::TimerId, DeliverFn>> parked;
  {
    std::shared_lock lock(dir_mu_);
    for (auto& [k, q] : queues_) {
      std::lock_guard ql(q->mu);
      env_.scheduler->cancel(q->wake_timer);
      for (auto& w : q->waiters) parked.emplace_back(w.timer, std::move(w.deliver));
      q->waiters.clear();
    }
  }
  for (auto& [timer, deliver] : parked) {
    env_.scheduler->cancel(timer);
    deliver({});
  }
}

Status SqsProvider::reset() {
  std::vector<std::pair<Scheduler::TimerId, DeliverFn>> parked;
  {
    std::unique_lock lock(dir_mu_);
    for (auto& [k, q] : queues_) {
      std::lock_guard ql(q->mu);
      q->deleted = true;
      env_.scheduler->cancel(q->wake_timer);
      for (auto& w : q->waiters) parked.emplace_back(w.timer, std::move(w.deliver));
      q->waiters.clear();
    }
    queues_.clear();
  }
  for (auto& [timer, deliver] : parked) {
    env_.scheduler->cancel(timer);
    deliver({});
  }
  {
    std::lock_guard tl(tasks_mu_);
    for (auto& t : tasks_) env_.scheduler->cancel(t.timer);
    tasks_.clear();
  }
  return env_.store->clear(fam_);
}

json SqsProvider::describe() const {
  std::shared_lock lock(dir_mu_);
  return json{{"queues", queues_.size()}};
}

// ----------------------------------------------------------------------------------------------
// Directory

std::string SqsProvider::dir_key(std::string_view account, std::string_view region, std::string_view name) {
  std::string k;
  k.reserve(account.size() + region.size() + name.size() + 2);
  k.append(account).push_back('/');
  k.append(region).push_back('/');
  k.append(name);
  return k;
}

std::string SqsProvider::url_of(const RequestContext& ctx, const Queue& q) const {
  return ctx.endpoint + "/" + q.account + "/" + q.name;
}

Outcome<SqsProvider::QueuePtr> SqsProvider::resolve_url(const RequestContext& ctx, const json& p) const {
  auto param = p.find("QueueUrl");
  std::string_view url = param != p.end() && param->is_string() ? std::string_view(param->get_ref<const std::string&>())
                                                                 : std::string_view();
  if (url.empty()) return missing("QueueUrl");
  std::string_view rest(url);
  std::string_view host;
  if (auto scheme = rest.find("://"); scheme != std::string_view::npos) {
    rest.remove_prefix(scheme + 3);
    size_t slash = rest.find('/');
    host = rest.substr(0, slash);
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (auto q = rest.find('?'); q != std::string_view::npos) rest = rest.substr(0, q);
  // The last two non-empty path segments: account (optional) and name.
  std::string_view segments[2];
  int found = 0;
  while (!rest.empty() && found < 2) {
    size_t slash = rest.rfind('/');
    std::string_view seg = slash == std::string_view::npos ? rest : rest.substr(slash + 1);
    if (!seg.empty()) segments[found++] = seg;
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(0, slash);
  }
  if (found == 0) return invalid(fmt::format("Value {} for parameter QueueUrl is invalid. Reason: Invalid URL.", url));
  std::string_view name = segments[0];
  std::string_view account = found == 2 ? segments[1] : std::string_view(ctx.account);
  std::string region = ctx.region;
  // sqs.<region>.amazonaws.com / sqs.<region>.localhost... / <region>.queue.amazonaws.com
  if (!host.empty()) {
    std::string h = enc::to_lower(host.substr(0, host.find(':')));
    size_t dot1 = h.find('.');
    size_t dot2 = dot1 == std::string::npos ? std::string::npos : h.find('.', dot1 + 1);
    if (dot2 != std::string::npos) {  // three labels or more
      std::string_view first = std::string_view(h).substr(0, dot1);
      std::string_view second = std::string_view(h).substr(dot1 + 1, dot2 - dot1 - 1);
      if (first == "sqs" && second.find('-') != std::string_view::npos) {
        region = std::string(second);
      } else if (second == "queue" && first.find('-') != std::string_view::npos) {
        region = std::string(first);
      }
    }
  }
  std::shared_lock lock(dir_mu_);
  auto it = queues_.find(dir_key(account, region, name));
  if (it == queues_.end() && region != ctx.region) it = queues_.find(dir_key(account, ctx.region, name));
  if (it == queues_.end()) return no_queue();
  return it->second;
}

SqsProvider::QueuePtr SqsProvider::by_arn(std::string_view arn) const {
  std::string region, account, name;
  if (!split_arn(arn, &region, &account, &name)) return nullptr;
  std::shared_lock lock(dir_mu_);
  auto it = queues_.find(dir_key(account, region, name));
  return it == queues_.end() ? nullptr : it->second;
}

// ----------------------------------------------------------------------------------------------
// Queue attributes

namespace {

// Checks one settable attribute's value (normalizing booleans); `fifo` is the queue's type.
std::optional<ServiceError> check_attribute(const std::string& name, std::string& value, bool fifo) {
  auto range = [&](int64_t lo, int64_t hi) -> std::optional<ServiceError> {
    auto v = parse_int(value);
    if (!v || *v < lo || *v > hi) return bad_attribute_value(name);
    value = std::to_string(*v);
    return std::nullopt;
  };
  auto boolean = [&]() -> std::optional<ServiceError> {
    std::string l = enc::to_lower(value);
    if (l != "true" && l != "false") return bad_attribute_value(name);
    value = l;
    return std::nullopt;
  };
  if (!settable_attributes().count(name)) return unknown_attribute(name);
  if (!fifo && fifo_only_attributes().count(name) && name != "FifoQueue") return unknown_attribute(name);
  if (name == "VisibilityTimeout") return range(0, 43200);
  if (name == "DelaySeconds") return range(0, 900);
  if (name == "MessageRetentionPeriod") return range(60, 1209600);
  if (name == "MaximumMessageSize") return range(kMinMessageSize, kMaxMessageSize);
  if (name == "ReceiveMessageWaitTimeSeconds") return range(0, 20);
  if (name == "KmsDataKeyReusePeriodSeconds") return range(60, 86400);
  if (name == "SqsManagedSseEnabled" || name == "ContentBasedDeduplication" || name == "FifoQueue") {
    return boolean();
  }
  if (name == "DeduplicationScope") {
    if (value != "messageGroup" && value != "queue") return bad_attribute_value(name);
  } else if (name == "FifoThroughputLimit") {
    if (value != "perQueue" && value != "perMessageGroupId") return bad_attribute_value(name);
  } else if (name == "Policy") {
    if (!value.empty() && !json::parse(value, nullptr, false).is_object()) return bad_attribute_value(name);
  } else if (name == "RedriveAllowPolicy") {
    if (value.empty()) return std::nullopt;
    auto j = json::parse(value, nullptr, false);
    std::string perm = string_member(j, "redrivePermission");
    if (perm != "allowAll" && perm != "denyAll" && perm != "byQueue") {
      return bad_attribute_value(name, "Amazon SQS can't create the redrive allow policy, as it's in an unsupported format.");
    }
    if (perm == "byQueue" && (!j.contains("sourceQueueArns") || !j["sourceQueueArns"].is_array() ||
                              j["sourceQueueArns"].empty() || j["sourceQueueArns"].size() > 10)) {
      return bad_attribute_value(name, "Amazon SQS can't create the redrive allow policy, as it's in an unsupported format.");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ServiceError> SqsProvider::check_redrive(const std::string& value, bool fifo, const Queue* self,
                                                      const std::string& source_arn) const {
  auto bad = [&](std::string_view reason) {
    return invalid(fmt::format("Value {} for parameter RedrivePolicy is invalid. Reason: {}", value, reason));
  };
  auto j = json::parse(value, nullptr, false);
  if (!j.is_object()) return bad("Redrive policy is not a valid JSON map.");
  if (j.contains("deadLetterTargetArn") && !j["deadLetterTargetArn"].is_string()) {
    return bad("Invalid value for deadLetterTargetArn: must be the ARN of a queue.");
  }
  std::string target = string_member(j, "deadLetterTargetArn");
  int64_t mrc = 0;
  if (j.contains("maxReceiveCount")) {
    if (j["maxReceiveCount"].is_number_integer()) mrc = j["maxReceiveCount"].get<int64_t>();
    if (j["maxReceiveCount"].is_string()) mrc = parse_int(j["maxReceiveCount"].get<std::string>()).value_or(0);
  }
  if (target.empty()) return bad("Redrive policy does not contain mandatory attribute: deadLetterTargetArn.");
  if (mrc < 1 || mrc > 1000) return bad("Invalid value for maxReceiveCount: must be an integer from 1 to 1000.");
  auto dlq = by_arn(target);
  if (!dlq) return bad("Dead-letter target does not exist.");
  bool dlq_fifo = fifo;
  std::string allow;
  if (dlq.get() != self) {
    std::lock_guard dl(dlq->mu);
    dlq_fifo = dlq->config.fifo;
    auto it = dlq->attributes.find("RedriveAllowPolicy");
    if (it != dlq->attributes.end()) allow = it->second;
  }
  if (dlq_fifo != fifo) {
    return bad(fifo ? "Dead-letter queue of a FIFO queue must be a FIFO queue."
                    : "Dead-letter queue of a standard queue must be a standard queue.");
  }
  // The dead-letter queue's RedriveAllowPolicy decides which queues may use it.
  auto policy = allow.empty() ? json() : json::parse(allow, nullptr, false);
  if (policy.is_object()) {
    std::string perm = string_member(policy, "redrivePermission", "allowAll");
    bool allowed = perm == "allowAll";
    if (perm == "byQueue" && policy.contains("sourceQueueArns") && policy["sourceQueueArns"].is_array()) {
      for (const auto& a : policy["sourceQueueArns"]) allowed = allowed || (a.is_string() && a == source_arn);
    }
    if (!allowed) return bad("Dead-letter target does not allow this queue as its source (RedriveAllowPolicy).");
  }
  return std::nullopt;
}

Out SqsProvider::create_queue(RequestContext& ctx, json& p) {
  std::string name = string_member(p, "QueueName");
  bool fifo_name = false;
  if (!valid_queue_name(name, &fifo_name)) {
    return invalid("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length");
  }
  std::map<std::string, std::string> attrs;
  if (p.contains("Attributes") && p["Attributes"].is_object()) {
    for (auto& [k, v] : p["Attributes"].items()) {
      if (v.is_string()) attrs[k] = v.get<std::string>();
    }
  }
  bool fifo = false;
  if (auto f = attrs.find("FifoQueue"); f != attrs.end()) fifo = enc::to_lower(f->second) == "true";
  if (fifo != fifo_name) {
    return invalid("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, "
                   "must end with .fifo suffix and be 1 to 80 in length.");
  }
  for (auto& [k, v] : attrs) {
    if (auto err = check_attribute(k, v, fifo)) return std::move(*err);
  }
  if (attrs.count("RedrivePolicy") && !attrs["RedrivePolicy"].empty()) {
    if (auto err = check_redrive(attrs["RedrivePolicy"], fifo, nullptr, queue_arn(ctx.region, ctx.account, name))) {
      return std::move(*err);
    }
  }
  json tags = p.contains("tags") && p["tags"].is_object() ? p["tags"] : json::object();
  int64_t now = now_ms();
  std::string key = dir_key(ctx.account, ctx.region, name);
  std::unique_lock lock(dir_mu_);
  if (auto it = queues_.find(key); it != queues_.end()) {
    auto& q = *it->second;
    std::lock_guard ql(q.mu);
    static const std::map<std::string, std::string> kDefaults = {
        {"VisibilityTimeout", "30"},        {"DelaySeconds", "0"},        {"MessageRetentionPeriod", "345600"},
        {"MaximumMessageSize", std::to_string(kMaxMessageSize)}, {"ReceiveMessageWaitTimeSeconds", "0"},
        {"FifoQueue", fifo ? "true" : "false"}, {"ContentBasedDeduplication", "false"},
        {"DeduplicationScope", "queue"},    {"FifoThroughputLimit", "perQueue"}, {"SqsManagedSseEnabled", "true"}};
    for (auto& [k, v] : attrs) {
      auto have = q.attributes.find(k);
      std::string current = have != q.attributes.end() ? have->second
                            : kDefaults.count(k)         ? kDefaults.at(k)
                                                         : std::string();
      if (current != v) {
        return ServiceError("QueueNameExists",
                            fmt::format("A queue already exists with the same name and a different value for attribute {}", k));
      }
    }
    return protocol::OperationOutput(json{{"QueueUrl", url_of(ctx, q)}});
  }
  auto q = std::make_shared<Queue>(next_seq(), ctx.account, ctx.region, name);
  q->attributes = attrs;
  if (fifo) q->attributes["FifoQueue"] = "true";
  for (auto& [k, v] : tags.items()) {
    if (v.is_string()) q->tags[k] = v.get<std::string>();
  }
  q->created_ms = q->modified_ms = now;
  q->apply_attributes();
  if (Status st = env_.store->put(fam_, q->meta_key(), q->encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  queues_[key] = q;
  return protocol::OperationOutput(json{{"QueueUrl", url_of(ctx, *q)}});
}

Out SqsProvider::get_queue_url(RequestContext& ctx, json& p) {
  std::string name = string_member(p, "QueueName");
  std::string account = string_member(p, "QueueOwnerAWSAccountId");
  if (account.empty()) account = ctx.account;
  std::shared_lock lock(dir_mu_);
  auto it = queues_.find(dir_key(account, ctx.region, name));
  if (it == queues_.end()) return no_queue();
  return protocol::OperationOutput(json{{"QueueUrl", url_of(ctx, *it->second)}});
}

Out SqsProvider::list_queues(RequestContext& ctx, json& p) {
  std::string prefix = string_member(p, "QueueNamePrefix");
  auto max = int_param(p, "MaxResults");
  std::string token = string_member(p, "NextToken");
  if (max && (*max < 1 || *max > 1000)) {
    return invalid(fmt::format("Value {} for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.", *max));
  }
  std::string after;
  if (!token.empty()) {
    auto decoded = enc::base64_decode(token);
    if (!decoded) return invalid("Invalid NextToken value.");
    after = *decoded;
  }
  std::vector<std::string> names;
  {
    std::shared_lock lock(dir_mu_);
    for (auto& [k, q] : queues_) {
      if (q->account == ctx.account && q->region == ctx.region && enc::starts_with(q->name, prefix) &&
          (after.empty() || q->name > after)) {
        names.push_back(q->name);
      }
    }
  }
  std::sort(names.begin(), names.end());
  size_t limit = max ? static_cast<size_t>(*max) : 1000;
  json urls = json::array();
  for (size_t i = 0; i < names.size() && i < limit; ++i) {
    urls.push_back(ctx.endpoint + "/" + ctx.account + "/" + names[i]);
  }
  json result = json::object();
  if (!urls.empty()) result["QueueUrls"] = urls;
  if (max && names.size() > limit) result["NextToken"] = enc::base64_encode(names[limit - 1]);
  return protocol::OperationOutput(std::move(result));
}

Out SqsProvider::delete_queue(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  QueuePtr q = r.value();
  std::vector<std::pair<Scheduler::TimerId, DeliverFn>> parked;
  {
    std::unique_lock lock(dir_mu_);
    std::lock_guard ql(q->mu);
    if (q->deleted) return no_queue();
    storage::WriteBatch batch;
    batch.del(fam_, q->meta_key());
    for (auto& [b, e] : q->record_ranges()) batch.delete_range(fam_, b, e);
    if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
    q->deleted = true;
    q->clear_messages();
    env_.scheduler->cancel(q->wake_timer);
    for (auto& w : q->waiters) parked.emplace_back(w.timer, std::move(w.deliver));
    q->waiters.clear();
    queues_.erase(dir_key(q->account, q->region, q->name));
  }
  for (auto& [timer, deliver] : parked) {
    env_.scheduler->cancel(timer);
    deliver({});
  }
  return protocol::OperationOutput();
}

Out SqsProvider::purge_queue(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  int64_t now = now_ms();
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  if (q.last_purge_ms && now - q.last_purge_ms < kPurgeIntervalMs) {
    return ServiceError("PurgeQueueInProgress",
                        fmt::format("Only one PurgeQueue operation on {} is allowed every 60 seconds.", q.name));
  }
  storage::WriteBatch batch;
  auto ranges = q.record_ranges();
  batch.delete_range(fam_, ranges[0].first, ranges[0].second);  // messages
  batch.delete_range(fam_, ranges[1].first, ranges[1].second);  // states
  q.last_purge_ms = now;
  batch.put(fam_, q.meta_key(), q.encode_meta());
  if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
  q.clear_messages();
  return protocol::OperationOutput();
}

Out SqsProvider::get_queue_attributes(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::set<std::string> wanted;
  bool all = false;
  if (p.contains("AttributeNames") && p["AttributeNames"].is_array()) {
    for (auto& n : p["AttributeNames"]) {
      std::string s = n.is_string() ? n.get<std::string>() : "";
      if (s == "All") {
        all = true;
      } else if (settable_attributes().count(s) || computed_attributes().count(s)) {
        wanted.insert(s);
      } else {
        return unknown_attribute(s);
      }
    }
  }
  int64_t now = now_ms();
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  json attrs = json::object();
  auto put = [&](const std::string& k, const std::string& v) {
    if (all || wanted.count(k)) attrs[k] = v;
  };
  auto counts = q.counts(now);
  put("QueueArn", q.arn);
  put("ApproximateNumberOfMessages", std::to_string(counts.visible));
  put("ApproximateNumberOfMessagesNotVisible", std::to_string(counts.in_flight));
  put("ApproximateNumberOfMessagesDelayed", std::to_string(counts.delayed));
  put("CreatedTimestamp", epoch_seconds(q.created_ms));
  put("LastModifiedTimestamp", epoch_seconds(q.modified_ms));
  put("VisibilityTimeout", std::to_string(q.config.visibility_timeout));
  put("MaximumMessageSize", std::to_string(q.config.max_message_size));
  put("MessageRetentionPeriod", std::to_string(q.config.retention_seconds));
  put("DelaySeconds", std::to_string(q.config.delay_seconds));
  put("ReceiveMessageWaitTimeSeconds", std::to_string(q.config.wait_seconds));
  if (!q.attributes.count("KmsMasterKeyId")) {
    put("SqsManagedSseEnabled", q.attributes.count("SqsManagedSseEnabled") ? q.attributes.at("SqsManagedSseEnabled") : "true");
  }
  if (q.config.fifo) {
    put("FifoQueue", "true");
    put("ContentBasedDeduplication", q.config.content_dedup ? "true" : "false");
    put("DeduplicationScope", q.attributes.count("DeduplicationScope") ? q.attributes.at("DeduplicationScope") : "queue");
    put("FifoThroughputLimit", q.attributes.count("FifoThroughputLimit") ? q.attributes.at("FifoThroughputLimit") : "perQueue");
  }
  for (const char* k : {"Policy", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds"}) {
    auto it = q.attributes.find(k);
    if (it != q.attributes.end() && !it->second.empty()) put(k, it->second);
  }
  json result = json::object();
  if (!attrs.empty()) result["Attributes"] = std::move(attrs);
  return protocol::OperationOutput(std::move(result));
}

Out SqsProvider::set_queue_attributes(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  QueuePtr qp = r.value();
  Queue& q = *qp;
  std::map<std::string, std::string> attrs;
  if (p.contains("Attributes") && p["Attributes"].is_object()) {
    for (auto& [k, v] : p["Attributes"].items()) {
      if (v.is_string()) attrs[k] = v.get<std::string>();
    }
  }
  bool fifo = false;
  {
    std::lock_guard ql(q.mu);
    fifo = q.config.fifo;
  }
  for (auto& [k, v] : attrs) {
    if (k == "FifoQueue") {
      if (enc::to_lower(v) != (fifo ? "true" : "false")) {
        return bad_attribute_value(k, "Modifying queue type is not supported.");
      }
      continue;
    }
    if (auto err = check_attribute(k, v, fifo)) return std::move(*err);
    if (k == "RedrivePolicy" && !v.empty()) {
      if (auto err = check_redrive(v, fifo, qp.get(), qp->arn)) return std::move(*err);
    }
  }
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  for (auto& [k, v] : attrs) {
    if (v.empty() && (k == "RedrivePolicy" || k == "Policy" || k == "RedriveAllowPolicy" || k == "KmsMasterKeyId")) {
      q.attributes.erase(k);
    } else {
      q.attributes[k] = v;
    }
  }
  q.modified_ms = now_ms();
  q.apply_attributes();
  if (Status st = env_.store->put(fam_, q.meta_key(), q.encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  return protocol::OperationOutput();
}

Out SqsProvider::list_dead_letter_source_queues(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  std::string arn = r.value()->arn;
  auto max = int_param(p, "MaxResults");
  std::string token = string_member(p, "NextToken");
  std::string after = token.empty() ? "" : enc::base64_decode(token).value_or("");
  std::vector<QueuePtr> all;
  {
    std::shared_lock lock(dir_mu_);
    for (auto& [k, q] : queues_) all.push_back(q);
  }
  std::vector<std::string> names;
  for (auto& q : all) {
    std::lock_guard ql(q->mu);
    if (q->account == ctx.account && q->region == ctx.region && q->config.dlq_arn == arn &&
        (after.empty() || q->name > after)) {
      names.push_back(q->name);
    }
  }
  std::sort(names.begin(), names.end());
  size_t limit = max ? static_cast<size_t>(std::clamp<int64_t>(*max, 1, 1000)) : 1000;
  json urls = json::array();
  for (size_t i = 0; i < names.size() && i < limit; ++i) urls.push_back(ctx.endpoint + "/" + ctx.account + "/" + names[i]);
  json result = {{"queueUrls", urls}};
  if (max && names.size() > limit) result["NextToken"] = enc::base64_encode(names[limit - 1]);
  return protocol::OperationOutput(std::move(result));
}

Out SqsProvider::tag_queue(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  auto tags = q.tags;
  if (p.contains("Tags") && p["Tags"].is_object()) {
    for (auto& [k, v] : p["Tags"].items()) {
      if (v.is_string()) tags[k] = v.get<std::string>();
    }
  }
  if (tags.size() > 50) return invalid("Too many tags added for queue " + q.name + ".");
  q.tags = std::move(tags);
  if (Status st = env_.store->put(fam_, q.meta_key(), q.encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  return protocol::OperationOutput();
}

Out SqsProvider::untag_queue(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  if (p.contains("TagKeys") && p["TagKeys"].is_array()) {
    for (auto& k : p["TagKeys"]) {
      if (k.is_string()) q.tags.erase(k.get<std::string>());
    }
  }
  if (Status st = env_.store->put(fam_, q.meta_key(), q.encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  return protocol::OperationOutput();
}

Out SqsProvider::list_queue_tags(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::lock_guard ql(q.mu);
  json result = json::object();
  if (!q.tags.empty()) result["Tags"] = q.tags;
  return protocol::OperationOutput(std::move(result));
}

Out SqsProvider::add_permission(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::string label = string_member(p, "Label");
  json accounts = p.value("AWSAccountIds", json::array());
  json actions = p.value("Actions", json::array());
  if (accounts.empty()) return missing("AWSAccountIds");
  if (actions.empty()) return missing("Actions");
  json principals = json::array();
  for (auto& a : accounts) principals.push_back("arn:aws:iam::" + a.get<std::string>() + ":root");
  json acts = json::array();
  for (auto& a : actions) acts.push_back("SQS:" + a.get<std::string>());
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  json policy = q.attributes.count("Policy") ? json::parse(q.attributes["Policy"], nullptr, false) : json();
  if (!policy.is_object()) {
    policy = {{"Version", "2012-10-17"}, {"Id", q.arn + "/SQSDefaultPolicy"}, {"Statement", json::array()}};
  }
  json& statements = statements_of(policy);
  for (auto& s : statements) {
    if (string_member(s, "Sid") == label) {
      return invalid(fmt::format("Value {} for parameter Label is invalid. Reason: Already exists.", label));
    }
  }
  statements.push_back({{"Sid", label},
                                 {"Effect", "Allow"},
                                 {"Principal", {{"AWS", principals.size() == 1 ? principals[0] : principals}}},
                                 {"Action", acts.size() == 1 ? acts[0] : acts},
                                 {"Resource", q.arn}});
  q.attributes["Policy"] = policy.dump();
  if (Status st = env_.store->put(fam_, q.meta_key(), q.encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  return protocol::OperationOutput();
}

Out SqsProvider::remove_permission(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  Queue& q = *r.value();
  std::string label = string_member(p, "Label");
  std::lock_guard ql(q.mu);
  if (q.deleted) return no_queue();
  json policy = q.attributes.count("Policy") ? json::parse(q.attributes["Policy"], nullptr, false) : json();
  bool found = false;
  if (policy.is_object() && policy.contains("Statement")) {
    json kept = json::array();
    for (auto& s : statements_of(policy)) {
      if (string_member(s, "Sid") == label) {
        found = true;
      } else {
        kept.push_back(s);
      }
    }
    policy["Statement"] = kept;
  }
  if (!found) return invalid(fmt::format("Value {} for parameter Label is invalid. Reason: can't find label.", label));
  if (policy["Statement"].empty()) {
    q.attributes.erase("Policy");
  } else {
    q.attributes["Policy"] = policy.dump();
  }
  if (Status st = env_.store->put(fam_, q.meta_key(), q.encode_meta()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  return protocol::OperationOutput();
}

// ----------------------------------------------------------------------------------------------
// Sending

namespace {

SendInput send_input_from(const json& p, const RequestContext& ctx) {
  SendInput in;
  in.body = string_member(p, "MessageBody");
  if (auto it = p.find("MessageAttributes"); it != p.end() && it->is_object() && !it->empty()) in.attributes = *it;
  if (auto it = p.find("MessageSystemAttributes"); it != p.end() && it->is_object() && !it->empty()) {
    in.attributes_system = *it;
  }
  in.group_id = string_member(p, "MessageGroupId");
  in.dedup_id = string_member(p, "MessageDeduplicationId");
  if (auto d = int_param(p, "DelaySeconds")) in.delay_seconds = static_cast<int>(std::clamp<int64_t>(*d, -2, 100000));
  in.sender_id = ctx.account;
  return in;
}

json send_result(SendOutput&& o) {
  json r = json::object();
  r["MessageId"] = std::move(o.message_id);
  r["MD5OfMessageBody"] = std::move(o.md5_body);
  if (!o.md5_attributes.empty()) r["MD5OfMessageAttributes"] = std::move(o.md5_attributes);
  if (!o.md5_system.empty()) r["MD5OfMessageSystemAttributes"] = std::move(o.md5_system);
  if (!o.sequence_number.empty()) r["SequenceNumber"] = std::move(o.sequence_number);
  return r;
}

}  // namespace

Outcome<SqsProvider::Sent> SqsProvider::prepare_send(Queue& q, SendInput& in, int64_t now, storage::WriteBatch& batch) {
  if (q.deleted) return no_queue();
  if (in.body.empty()) return missing("MessageBody");
  if (!valid_message_chars(in.body)) {
    return ServiceError("InvalidMessageContents", "Invalid characters found. Valid characters are #x9 | #xA | #xD | "
                                                  "#x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF");
  }
  auto attr_size = validate_attributes(in.attributes, false);
  if (!attr_size) return std::move(attr_size).error();
  if (!in.attributes_system.is_null()) {
    auto sys = validate_attributes(in.attributes_system, true);
    if (!sys) return std::move(sys).error();
    in.trace_header = in.attributes_system["AWSTraceHeader"].value("StringValue", "");
  }
  int64_t size = static_cast<int64_t>(in.body.size()) + attr_size.value();
  if (size > q.config.max_message_size) {
    return invalid(fmt::format("One or more parameters are invalid. Reason: Message must be shorter than {} bytes.",
                               q.config.max_message_size));
  }
  int delay = q.config.delay_seconds;
  if (in.delay_seconds != -1) {
    if (q.config.fifo) {
      return invalid(fmt::format("Value {} for parameter DelaySeconds is invalid. Reason: The request include parameter "
                                 "that is not valid for this queue type.", in.delay_seconds));
    }
    if (in.delay_seconds < 0 || in.delay_seconds > 900) {
      return invalid(fmt::format("Value {} for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 "
                                 "and <= 900.", in.delay_seconds));
    }
    delay = in.delay_seconds;
  }
  Sent sent;
  Message m;
  m.seq = next_seq();
  if (q.config.fifo) {
    if (in.group_id.empty()) return missing("MessageGroupId");
    if (in.dedup_id.empty()) {
      if (!q.config.content_dedup) {
        return invalid("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId "
                       "provided explicitly");
      }
      in.dedup_id = enc::hex_encode(crypto::sha256(in.body));
    }
    std::string dk = q.dedup_scope_key(in.group_id, in.dedup_id);
    if (auto d = q.dedup.find(dk); d != q.dedup.end() && d->second.expires_ms > now) {
      sent.out.message_id = d->second.message_id;
      sent.out.sequence_number = d->second.sequence_number;
      sent.out.md5_body = md5_hex(in.body);
      sent.out.md5_attributes = md5_of_attributes(in.attributes);
      sent.out.md5_system = md5_of_attributes(in.attributes_system);
      return sent;
    }
    m.sequence_number = fmt::format("{:020}", m.seq);
    Queue::DedupEntry e{now + kDedupWindowMs, "", m.sequence_number};
    m.id = ids::uuid();
    e.message_id = m.id;
    q.dedup[dk] = e;
    batch.put(fam_, q.dedup_key(dk), Queue::encode_dedup(e));
  } else {
    if (!in.dedup_id.empty()) {
      return invalid(fmt::format("Value {} for parameter MessageDeduplicationId is invalid. Reason: The request "
                                 "includes a parameter that is not valid for this queue type.", in.dedup_id));
    }
    m.id = ids::uuid();
  }
  m.body = std::move(in.body);
  m.md5_body = md5_hex(m.body);
  m.attributes = std::move(in.attributes);
  m.md5_attributes = md5_of_attributes(m.attributes);
  m.trace_header = in.trace_header;
  m.md5_system = md5_of_attributes(in.attributes_system);
  m.sender_id = in.sender_id;
  m.sent_ms = now;
  m.group_id = in.group_id;
  m.dedup_id = in.dedup_id;
  m.visible_at_ms = now + int64_t{delay} * 1000;
  batch.put(fam_, q.message_key(m.seq), encode_message(m));
  sent.out.message_id = m.id;
  sent.out.md5_body = m.md5_body;
  sent.out.md5_attributes = m.md5_attributes;
  sent.out.md5_system = m.md5_system;
  sent.out.sequence_number = m.sequence_number;
  sent.message = std::move(m);
  return sent;
}

Outcome<SqsProvider::Sent> SqsProvider::send_to(const QueuePtr& q, SendInput& in) {
  int64_t now = now_ms();
  bool notify = false;
  Outcome<Sent> r = ServiceError();
  {
    std::lock_guard ql(q->mu);
    storage::WriteBatch batch;
    r = prepare_send(*q, in, now, batch);
    if (!r) return r;
    if (!batch.empty()) {
      if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
    }
    if (r.value().message) {
      Message copy_free = std::move(*r.value().message);
      r.value().message.reset();
      q->insert(std::move(copy_free));
      notify = !q->waiters.empty() || watch_count_.load(std::memory_order_relaxed) > 0;
    }
  }
  if (notify) wake(q);
  return r;
}

Out SqsProvider::send_message(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  SendInput in = send_input_from(p, ctx);
  auto sent = send_to(r.value(), in);
  if (!sent) return std::move(sent).error();
  return protocol::OperationOutput(send_result(std::move(sent.value().out)));
}

namespace {

// Checks a batch's entries: count, ids. Returns the error for the whole request.
std::optional<ServiceError> check_batch(const json& entries, const char* entry_shape) {
  if (!entries.is_array() || entries.empty()) {
    return ServiceError("EmptyBatchRequest", fmt::format("There should be at least one {} in the request.", entry_shape));
  }
  if (entries.size() > static_cast<size_t>(kMaxBatchEntries)) {
    return ServiceError("TooManyEntriesInBatchRequest",
                        fmt::format("Maximum number of entries per request are {}. You have sent {}.", kMaxBatchEntries,
                                    entries.size()));
  }
  std::vector<std::string_view> seen;  // at most kMaxBatchEntries
  seen.reserve(entries.size());
  for (const auto& e : entries) {
    auto it = e.is_object() ? e.find("Id") : e.end();
    std::string_view id = it != e.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                                            : std::string_view();
    if (!valid_batch_id(id)) {
      return ServiceError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens "
                                                 "and underscores. It can be at most 80 letters long.");
    }
    if (std::find(seen.begin(), seen.end(), id) != seen.end()) {
      return ServiceError("BatchEntryIdsNotDistinct", fmt::format("Id {} repeated.", id));
    }
    seen.push_back(id);
  }
  return std::nullopt;
}

// A batch request's Entries (a reference, not a copy), or null.
const json& entries_of(const json& p) {
  static const json kNone;
  auto it = p.find("Entries");
  return it != p.end() ? *it : kNone;
}

// {"Successful": [...], "Failed": [...]}, the arrays moved in.
json batch_result(json&& ok, json&& failed) {
  json out = json::object();
  out["Successful"] = std::move(ok);
  out["Failed"] = std::move(failed);
  return out;
}

json failed_entry(const std::string& id, const ServiceError& e) {
  return {{"Id", id}, {"SenderFault", e.sender_fault}, {"Code", e.code}, {"Message", e.message}};
}

}  // namespace

Out SqsProvider::send_message_batch(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  const json& entries = entries_of(p);
  if (auto err = check_batch(entries, "SendMessageBatchRequestEntry")) return std::move(*err);
  size_t total = 0;
  for (const auto& e : entries) {
    total += e.value("MessageBody", "").size();
    if (e.contains("MessageAttributes")) {
      auto attr_size = validate_attributes(e["MessageAttributes"], false);
      if (attr_size) total += static_cast<size_t>(attr_size.value());
    }
  }
  if (total > static_cast<size_t>(kMaxMessageSize)) {
    return ServiceError("BatchRequestTooLong", fmt::format("Batch requested message too long. Total message size "
                                                           "must not exceed {} bytes.", kMaxMessageSize));
  }
  QueuePtr q = r.value();
  json ok = json::array();
  json failed = json::array();
  int64_t now = now_ms();
  bool notify = false;
  {
    std::lock_guard ql(q->mu);
    storage::WriteBatch batch;
    std::vector<Message> staged;
    for (const auto& e : entries) {
      std::string id = e.value("Id", "");
      SendInput in = send_input_from(e, ctx);
      auto sent = prepare_send(*q, in, now, batch);
      if (!sent) {
        if (sent.error().code == "QueueDoesNotExist") return std::move(sent).error();
        failed.push_back(failed_entry(id, sent.error()));
        continue;
      }
      json res = send_result(std::move(sent.value().out));
      res["Id"] = id;
      ok.push_back(std::move(res));
      if (sent.value().message) staged.push_back(std::move(*sent.value().message));
    }
    if (!batch.empty()) {
      if (Status st = env_.store->write(batch); !st.is_ok()) return ServiceError::internal(st.to_string());
    }
    for (auto& m : staged) q->insert(std::move(m));
    notify = !staged.empty() && (!q->waiters.empty() || watch_count_.load(std::memory_order_relaxed) > 0);
  }
  if (notify) wake(q);
  return protocol::OperationOutput(batch_result(std::move(ok), std::move(failed)));
}

// ----------------------------------------------------------------------------------------------
// Receiving

namespace {

// Which attributes a receive asked for.
struct Selection {
  bool all_system = false;
  std::set<std::string> system;
  bool all_attributes = false;
  std::vector<std::string> names;
  std::vector<std::string> prefixes;

  static Selection from(const json& p) {
    Selection s;
    for (const char* key : {"AttributeNames", "MessageSystemAttributeNames"}) {
      if (auto it = p.find(key); it != p.end() && it->is_array()) {
        for (auto& n : *it) {
          std::string v = n.is_string() ? n.get<std::string>() : "";
          if (v == "All") {
            s.all_system = true;
          } else {
            s.system.insert(v);
          }
        }
      }
    }
    if (auto it = p.find("MessageAttributeNames"); it != p.end() && it->is_array()) {
      for (auto& n : *it) {
        std::string v = n.is_string() ? n.get<std::string>() : "";
        if (v == "All" || v == ".*") {
          s.all_attributes = true;
        } else if (enc::ends_with(v, ".*")) {
          s.prefixes.push_back(v.substr(0, v.size() - 1));
        } else {
          s.names.push_back(v);
        }
      }
    }
    return s;
  }
  bool wants(const char* name) const { return all_system || system.count(name); }
  bool wants_attribute(const std::string& name) const {
    if (all_attributes) return true;
    if (std::find(names.begin(), names.end(), name) != names.end()) return true;
    return std::any_of(prefixes.begin(), prefixes.end(), [&](const std::string& pre) { return enc::starts_with(name, pre); });
  }
};

// The message's strings are moved into the answer (the Delivered is the answer's own copy).
json render(Delivered&& d, const Selection& sel) {
  Message& m = d.message;
  json out = json::object();
  out["MessageId"] = std::move(m.id);
  out["ReceiptHandle"] = std::move(d.receipt);
  out["MD5OfBody"] = std::move(m.md5_body);
  out["Body"] = std::move(m.body);
  json attrs = json::object();
  auto put = [&](const char* k, std::string v) {
    if (sel.wants(k)) attrs[k] = std::move(v);
  };
  put("SenderId", m.sender_id);
  put("SentTimestamp", std::to_string(m.sent_ms));
  put("ApproximateReceiveCount", std::to_string(m.receive_count));
  put("ApproximateFirstReceiveTimestamp", std::to_string(m.first_receive_ms));
  if (!m.sequence_number.empty()) put("SequenceNumber", m.sequence_number);
  if (!m.dedup_id.empty()) put("MessageDeduplicationId", m.dedup_id);
  if (!m.group_id.empty()) put("MessageGroupId", m.group_id);
  if (!m.trace_header.empty()) put("AWSTraceHeader", m.trace_header);
  if (!m.dlq_source_arn.empty()) put("DeadLetterQueueSourceArn", m.dlq_source_arn);
  if (!attrs.empty()) out["Attributes"] = std::move(attrs);
  if (m.attributes.is_object() && !m.attributes.empty()) {
    if (sel.all_attributes) {
      out["MessageAttributes"] = std::move(m.attributes);
      out["MD5OfMessageAttributes"] = std::move(m.md5_attributes);
    } else if (!sel.names.empty() || !sel.prefixes.empty()) {
      json chosen = json::object();
      for (auto it = m.attributes.begin(); it != m.attributes.end(); ++it) {
        if (sel.wants_attribute(it.key())) chosen[it.key()] = it.value();
      }
      if (!chosen.empty()) {
        out["MD5OfMessageAttributes"] = md5_of_attributes(chosen);
        out["MessageAttributes"] = std::move(chosen);
      }
    }
  }
  return out;
}

}  // namespace

SqsProvider::QueuePtr SqsProvider::dlq_of(const QueuePtr& q) const {
  std::string arn;
  {
    std::lock_guard ql(q->mu);
    if (q->config.max_receive_count <= 0) return nullptr;
    arn = q->config.dlq_arn;
  }
  if (arn.empty() || arn == q->arn) return nullptr;
  return by_arn(arn);
}

std::vector<Delivered> SqsProvider::receive_locked(Queue& q, const ReceiveOptions& opts, const QueuePtr& dlq,
                                                   int64_t now, std::vector<Message>& moved) {
  storage::WriteBatch batch;
  std::vector<Message> redriven;
  auto out = q.receive(now, opts, fam_, batch, redriven, dlq != nullptr);
  for (auto& m : redriven) {
    m.seq = next_seq();
    if (m.dlq_source_arn.empty()) m.dlq_source_arn = q.arn;
    m.receive_count = 0;
    m.first_receive_ms = 0;
    m.receipt_nonce = 0;
    m.visible_at_ms = now;
    m.state_apart = false;
    m.journal = 0;
    batch.put(fam_, dlq->message_key(m.seq), encode_message(m));
    moved.push_back(std::move(m));
  }
  if (!batch.empty()) {
    if (Status st = env_.store->write(batch); !st.is_ok()) log::error("sqs: receive write failed: {}", st.to_string());
  }
  return out;
}

std::vector<Delivered> SqsProvider::receive_now(const QueuePtr& q, const ReceiveOptions& opts) {
  QueuePtr dlq = dlq_of(q);
  std::vector<Message> moved;
  std::vector<Delivered> out;
  {
    std::lock_guard ql(q->mu);
    if (q->deleted) return out;
    out = receive_locked(*q, opts, dlq, now_ms(), moved);
  }
  if (!moved.empty()) insert_redriven(dlq, std::move(moved));
  return out;
}

void SqsProvider::insert_redriven(const QueuePtr& dlq, std::vector<Message>&& moved) {
  bool notify = false;
  {
    std::lock_guard dl(dlq->mu);
    if (dlq->deleted) return;
    for (auto& m : moved) dlq->insert(std::move(m));
    notify = !dlq->waiters.empty() || watch_count_.load(std::memory_order_relaxed) > 0;
  }
  if (notify) wake(dlq);
}

void SqsProvider::park(const QueuePtr& q, ReceiveOptions opts, int wait_seconds, DeliverFn deliver) {
  bool visible_now = false;
  {
    std::lock_guard ql(q->mu);
    if (q->deleted || stopping_) {
      // Answer below, outside the lock.
    } else {
      int64_t now = now_ms();
      Queue::Waiter w;
      w.id = next_waiter_.fetch_add(1);
      w.deadline_ms = now + int64_t{wait_seconds} * 1000;
      w.opts = std::move(opts);
      w.deliver = std::move(deliver);
      uint64_t id = w.id;
      w.timer = env_.scheduler->after(std::chrono::seconds(wait_seconds), [q, id] {
        DeliverFn fn;
        {
          std::lock_guard l(q->mu);
          for (auto it = q->waiters.begin(); it != q->waiters.end(); ++it) {
            if (it->id == id) {
              fn = std::move(it->deliver);
              q->waiters.erase(it);
              break;
            }
          }
        }
        if (fn) fn({});
      });
      q->waiters.push_back(std::move(w));
      arm_wake_locked(q, now);
      visible_now = q->has_visible(now);
      deliver = nullptr;
    }
  }
  if (deliver) {
    deliver({});
    return;
  }
  if (visible_now) wake(q);
}

void SqsProvider::arm_wake_locked(const QueuePtr& q, int64_t now) {
  int64_t next = q->next_visible_after(now);
  if (next == 0) return;
  if (q->wake_timer != 0 && q->wake_at_ms > now && q->wake_at_ms <= next) return;
  if (q->wake_timer != 0) env_.scheduler->cancel(q->wake_timer);
  q->wake_at_ms = next;
  q->wake_timer = env_.scheduler->after(std::chrono::milliseconds(next - now + 1), [this, q] {
    {
      std::lock_guard l(q->mu);
      q->wake_timer = 0;
      q->wake_at_ms = 0;
    }
    wake(q);
  });
}

void SqsProvider::wake(const QueuePtr& q) {
  if (stopping_) return;
  QueuePtr dlq = dlq_of(q);
  std::vector<std::pair<Queue::Waiter, std::vector<Delivered>>> ready;
  std::vector<Message> moved;
  bool still_visible = false;
  bool watched = watch_count_.load(std::memory_order_relaxed) > 0;
  {
    std::lock_guard ql(q->mu);
    if (q->deleted) return;
    int64_t now = now_ms();
    while (!q->waiters.empty() && q->has_visible(now)) {
      auto got = receive_locked(*q, q->waiters.front().opts, dlq, now, moved);
      if (got.empty()) break;
      ready.emplace_back(std::move(q->waiters.front()), std::move(got));
      q->waiters.pop_front();
    }
    if (!q->waiters.empty() || watched) arm_wake_locked(q, now);
    still_visible = q->has_visible(now);
  }
  for (auto& [w, got] : ready) {
    env_.scheduler->cancel(w.timer);
    w.deliver(std::move(got));
  }
  if (!moved.empty()) insert_redriven(dlq, std::move(moved));
  if (watched && still_visible) {
    std::vector<std::function<void()>> hooks;
    {
      std::lock_guard wl(watch_mu_);
      for (auto& [id, w] : watches_) {
        if (w.arn == q->arn) hooks.push_back(w.hook);
      }
    }
    for (auto& h : hooks) h();
  }
}

void SqsProvider::receive_message(Invocation&& inv) {
  json& p = inv.params;
  auto r = resolve_url(inv.ctx, p);
  if (!r) {
    inv.done(std::move(r).error());
    return;
  }
  QueuePtr q = r.value();
  ReceiveOptions opts;
  if (auto v = int_param(p, "MaxNumberOfMessages")) {
    if (*v < 1 || *v > 10) {
      inv.done(invalid(fmt::format("Value {} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 "
                                   "and 10, if provided.", *v)));
      return;
    }
    opts.max = static_cast<int>(*v);
  }
  if (auto v = int_param(p, "VisibilityTimeout")) {
    if (*v < 0 || *v > 43200) {
      inv.done(invalid(fmt::format("Value {} for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and "
                                   "<= 43200, if provided.", *v)));
      return;
    }
    opts.visibility_seconds = static_cast<int>(*v);
  }
  int wait = 0;
  {
    std::lock_guard ql(q->mu);
    wait = q->config.wait_seconds;
  }
  if (auto v = int_param(p, "WaitTimeSeconds")) {
    if (*v < 0 || *v > 20) {
      inv.done(invalid(fmt::format("Value {} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= "
                                   "20, if provided.", *v)));
      return;
    }
    wait = static_cast<int>(*v);
  }
  opts.attempt_id = string_member(p, "ReceiveRequestAttemptId");
  auto sel = std::make_shared<Selection>(Selection::from(p));
  auto done = std::make_shared<Done>(std::move(inv.done));
  DeliverFn deliver = [sel, done](std::vector<Delivered> got) {
    json messages = json::array();
    for (auto& d : got) messages.push_back(render(std::move(d), *sel));
    json result = json::object();
    if (!messages.empty()) result["Messages"] = std::move(messages);
    (*done)(protocol::OperationOutput(std::move(result)));
  };
  auto got = receive_now(q, opts);
  if (!got.empty() || wait == 0) {
    deliver(std::move(got));
    return;
  }
  park(q, std::move(opts), wait, std::move(deliver));
}

// ----------------------------------------------------------------------------------------------
// Deleting and visibility

Outcome<bool> SqsProvider::delete_receipt(const QueuePtr& q, std::string_view receipt) {
  return std::move(delete_receipts(q, {receipt})[0]);
}

std::vector<Outcome<bool>> SqsProvider::delete_receipts(const QueuePtr& qp, const std::vector<std::string_view>& receipts) {
  std::vector<Outcome<bool>> out;
  out.reserve(receipts.size());
  std::vector<uint64_t> doomed;
  storage::WriteBatch batch;
  Queue& q = *qp;
  std::unique_lock ql(q.mu);
  for (std::string_view receipt : receipts) {
    auto rh = parse_receipt(receipt);
    if (!rh || rh->queue_id != q.id) {
      out.emplace_back(ServiceError("ReceiptHandleIsInvalid",
                                    fmt::format("The input receipt handle \"{}\" is not a valid receipt handle.", receipt)));
      continue;
    }
    if (q.deleted) {
      out.emplace_back(no_queue());
      continue;
    }
    Message* m = q.find(rh->seq);
    if (!m || std::find(doomed.begin(), doomed.end(), rh->seq) != doomed.end()) {
      out.emplace_back(true);  // already deleted
      continue;
    }
    if (m->receipt_nonce != rh->nonce) {
      if (q.config.fifo) {
        out.emplace_back(invalid(fmt::format(
            "Value {} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.", receipt)));
      } else {
        out.emplace_back(true);  // a stale handle: the request succeeds, the message stays
      }
      continue;
    }
    q.delete_records(fam_, batch, *m);
    doomed.push_back(rh->seq);
    out.emplace_back(true);
  }
  if (!batch.empty()) {
    if (Status st = env_.store->write(batch); !st.is_ok()) {
      for (auto& o : out) {
        if (o) o = ServiceError::internal(st.to_string());
      }
      return out;
    }
  }
  for (uint64_t seq : doomed) q.erase(seq);
  // A FIFO delete can unblock a message group that parked long polls are waiting on.
  bool notify = q.config.fifo && !doomed.empty() && !q.waiters.empty();
  ql.unlock();
  if (notify) wake(qp);
  return out;
}

Outcome<bool> SqsProvider::change_receipt(const QueuePtr& qp, std::string_view receipt, int64_t seconds) {
  Queue& q = *qp;
  if (seconds < 0 || seconds > 43200) {
    return invalid(fmt::format("Value {} for parameter VisibilityTimeout is invalid. Reason: Must be between 0 and "
                               "43200 seconds.", seconds));
  }
  auto rh = parse_receipt(receipt);
  if (!rh || rh->queue_id != q.id) {
    return ServiceError("ReceiptHandleIsInvalid",
                        fmt::format("The input receipt handle \"{}\" is not a valid receipt handle.", receipt));
  }
  int64_t now = now_ms();
  {
    std::lock_guard ql(q.mu);
    if (q.deleted) return no_queue();
    Message* m = q.find(rh->seq);
    if (!m || m->receipt_nonce != rh->nonce) {
      return invalid(fmt::format("Value {} for parameter ReceiptHandle is invalid. Reason: Message does not exist or "
                                 "is not available for visibility timeout change.", receipt));
    }
    if (!m->in_flight(now)) return ServiceError("MessageNotInflight", "The message referred to isn't in flight.");
    q.set_visible_at(*m, now + seconds * 1000);
    storage::WriteBatch batch;
    q.put_states(fam_, batch, {m});
    if (Status st = env_.store->write(batch); !st.is_ok()) {
      return ServiceError::internal(st.to_string());
    }
  }
  if (seconds == 0) wake(qp);
  return true;
}

Out SqsProvider::delete_message_op(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  auto d = delete_receipt(r.value(), string_member(p, "ReceiptHandle"));
  if (!d) return std::move(d).error();
  return protocol::OperationOutput();
}

namespace {

// Runs `one` for each entry of a delete / change-visibility batch (already checked with
// check_batch) and gathers the results.
template <class One>
Out per_entry(const json& entries, One one) {
  json ok = json::array();
  json failed = json::array();
  for (const auto& e : entries) {
    std::string id = e.value("Id", "");
    Outcome<bool> r = one(e);
    if (r) {
      ok.push_back({{"Id", id}});
    } else {
      if (r.error().code == "QueueDoesNotExist") return std::move(r).error();
      failed.push_back(failed_entry(id, r.error()));
    }
  }
  return protocol::OperationOutput(batch_result(std::move(ok), std::move(failed)));
}

}  // namespace

Out SqsProvider::delete_message_batch(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  const json& entries = entries_of(p);
  if (auto err = check_batch(entries, "DeleteMessageBatchRequestEntry")) return std::move(*err);
  // All the deletes in one WriteBatch under one lock.
  std::vector<std::string_view> handles;
  handles.reserve(entries.size());
  for (const auto& e : entries) {
    auto h = e.find("ReceiptHandle");
    handles.push_back(h != e.end() && h->is_string() ? std::string_view(h->get_ref<const std::string&>())
                                                     : std::string_view());
  }
  auto results = delete_receipts(r.value(), handles);
  size_t i = 0;
  return per_entry(entries, [&](const json&) { return std::move(results[i++]); });
}

Out SqsProvider::change_visibility_op(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  auto c = change_receipt(r.value(), string_member(p, "ReceiptHandle"), int_param(p, "VisibilityTimeout").value_or(-1));
  if (!c) return std::move(c).error();
  return protocol::OperationOutput();
}

Out SqsProvider::change_visibility_batch(RequestContext& ctx, json& p) {
  auto r = resolve_url(ctx, p);
  if (!r) return std::move(r).error();
  const json& entries = entries_of(p);
  if (auto err = check_batch(entries, "ChangeMessageVisibilityBatchRequestEntry")) return std::move(*err);
  return per_entry(entries, [&](const json& e) {
    int64_t vis = e.contains("VisibilityTimeout") && e["VisibilityTimeout"].is_number_integer()
                      ? e["VisibilityTimeout"].get<int64_t>()
                      : -1;
    return change_receipt(r.value(), e.value("ReceiptHandle", ""), vis);
  });
}

// ----------------------------------------------------------------------------------------------
// In-process API

std::optional<QueueInfo> SqsProvider::queue_info(std::string_view queue_arn) const {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return std::nullopt;
  std::lock_guard ql(q->mu);
  QueueInfo info;
  info.arn = q->arn;
  info.url_path = "/" + q->account + "/" + q->name;
  info.fifo = q->config.fifo;
  info.visibility_timeout = q->config.visibility_timeout;
  info.max_receive_count = q->config.max_receive_count;
  info.dlq_arn = q->config.dlq_arn;
  return info;
}

Outcome<SendOutput> SqsProvider::send(std::string_view queue_arn, SendInput input) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return no_queue();
  auto sent = send_to(q, input);
  if (!sent) return std::move(sent).error();
  return std::move(sent.value().out);
}

Outcome<SqsProvider::Staged> SqsProvider::stage(std::string_view queue_arn, SendInput input, storage::WriteBatch& batch) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return no_queue();
  std::lock_guard ql(q->mu);
  auto sent = prepare_send(*q, input, now_ms(), batch);
  if (!sent) return std::move(sent).error();
  return Staged{q, std::move(sent.value().message), std::move(sent.value().out)};
}

void SqsProvider::commit(Staged&& staged) {
  if (!staged.message) return;
  const QueuePtr& q = staged.queue;
  bool notify = false;
  {
    std::lock_guard ql(q->mu);
    if (q->deleted) return;
    q->insert(std::move(*staged.message));
    notify = !q->waiters.empty() || watch_count_.load(std::memory_order_relaxed) > 0;
  }
  if (notify) wake(q);
}

Outcome<bool> SqsProvider::receive(std::string_view queue_arn, ReceiveOptions opts, int wait_seconds,
                                   DeliverFn deliver) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return no_queue();
  opts.max = std::clamp(opts.max, 1, 10000);
  auto got = receive_now(q, opts);
  if (!got.empty() || wait_seconds <= 0) {
    deliver(std::move(got));
  } else {
    park(q, std::move(opts), std::min(wait_seconds, 20), std::move(deliver));
  }
  return true;
}

Outcome<bool> SqsProvider::delete_message(std::string_view queue_arn, std::string_view receipt) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return no_queue();
  return delete_receipt(q, receipt);
}

std::vector<Outcome<bool>> SqsProvider::delete_messages(std::string_view queue_arn,
                                                        const std::vector<std::string_view>& receipts) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return std::vector<Outcome<bool>>(receipts.size(), Outcome<bool>(no_queue()));
  return delete_receipts(q, receipts);
}

Outcome<bool> SqsProvider::change_visibility(std::string_view queue_arn, std::string_view receipt, int seconds) {
  QueuePtr q = by_arn(queue_arn);
  if (!q) return no_queue();
  return change_receipt(q, receipt, seconds);
}

uint64_t SqsProvider::watch(std::string_view queue_arn, std::function<void()> hook) {
  uint64_t id = next_watch_.fetch_add(1);
  {
    std::lock_guard wl(watch_mu_);
    watches_[id] = Watch{std::string(queue_arn), std::move(hook)};
    watch_count_.store(watches_.size());
  }
  if (QueuePtr q = by_arn(queue_arn)) wake(q);
  return id;
}

void SqsProvider::unwatch(uint64_t id) {
  std::lock_guard wl(watch_mu_);
  watches_.erase(id);
  watch_count_.store(watches_.size());
}

// ----------------------------------------------------------------------------------------------
// Retention and deduplication sweeps

void SqsProvider::sweep() {
  if (stopping_) return;
  ++sweep_ticks_;
  bool prune = sweep_ticks_ % 30 == 0;
  std::vector<QueuePtr> all;
  {
    std::shared_lock lock(dir_mu_);
    all.reserve(queues_.size());
    for (auto& [k, q] : queues_) all.push_back(q);
  }
  int64_t now = now_ms();
  for (auto& q : all) {
    std::lock_guard ql(q->mu);
    if (q->deleted) continue;
    storage::WriteBatch batch;
    for (uint64_t seq : q->expired(now, kExpiryScanPerTick)) {
      if (Message* m = q->find(seq)) q->delete_records(fam_, batch, *m);
      q->erase(seq);
    }
    if (prune) {
      for (auto it = q->dedup.begin(); it != q->dedup.end();) {
        if (it->second.expires_ms <= now) {
          batch.del(fam_, q->dedup_key(it->first));
          it = q->dedup.erase(it);
        } else {
          ++it;
        }
      }
      for (auto it = q->attempts.begin(); it != q->attempts.end();) {
        it = it->second.expires_ms <= now ? q->attempts.erase(it) : std::next(it);
      }
    }
    if (!batch.empty()) {
      if (Status st = env_.store->write(batch); !st.is_ok()) log::warn("sqs: sweep write failed: {}", st.to_string());
    }
  }
  sweep_timer_ = env_.scheduler->after(std::chrono::seconds(1), [this] { sweep(); });
}

// ----------------------------------------------------------------------------------------------
// Message move tasks (dead-letter queue redrive)

namespace {

constexpr int64_t kMoveTickMs = 100;

json task_view(const std::string& handle, const std::string& source, const std::string& destination,
               const std::string& status, const std::string& failure, int64_t started, int64_t rate, int64_t moved,
               int64_t to_move) {
  json t = {{"Status", status},
            {"SourceArn", source},
            {"ApproximateNumberOfMessagesMoved", moved},
            {"ApproximateNumberOfMessagesToMove", to_move},
            {"StartedTimestamp", started}};
  if (status == "RUNNING") t["TaskHandle"] = handle;
  if (!destination.empty()) t["DestinationArn"] = destination;
  if (rate > 0) t["MaxNumberOfMessagesPerSecond"] = rate;
  if (!failure.empty()) t["FailureReason"] = failure;
  return t;
}

}  // namespace

std::string SqsProvider::task_key(const std::string& handle) {
  return storage::key::KeyBuilder("", "").str("t").str(handle).take();
}

void SqsProvider::save_task(const MoveTask& t) {
  json j = {{"handle", t.handle},   {"source", t.source_arn}, {"destination", t.destination_arn},
            {"status", t.status},   {"failure", t.failure_reason}, {"started", t.started_ms},
            {"rate", t.max_per_second}, {"moved", t.moved},       {"to_move", t.to_move}};
  if (Status st = env_.store->put(fam_, task_key(t.handle), j.dump()); !st.is_ok()) {
    log::warn("sqs: cannot save move task: {}", st.to_string());
  }
}

Out SqsProvider::start_move_task(RequestContext& ctx, json& p) {
  std::string source = string_member(p, "SourceArn");
  std::string destination = string_member(p, "DestinationArn");
  auto rate = int_param(p, "MaxNumberOfMessagesPerSecond");
  QueuePtr src = by_arn(source);
  if (!src) return ServiceError("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.", 404);
  if (!destination.empty() && !by_arn(destination)) {
    return ServiceError("ResourceNotFoundException", "The resource that you specified for the DestinationArn parameter doesn't exist.", 404);
  }
  if (rate && (*rate < 1 || *rate > 500)) {
    return invalid(fmt::format("Value {} for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.", *rate));
  }
  // The source must be some queue's dead-letter queue.
  bool is_dlq = false;
  {
    std::vector<QueuePtr> all;
    {
      std::shared_lock lock(dir_mu_);
      for (auto& [k, q] : queues_) all.push_back(q);
    }
    for (auto& q : all) {
      std::lock_guard ql(q->mu);
      if (q->config.dlq_arn == source) is_dlq = true;
    }
  }
  if (!is_dlq) return invalid("Source queue must be configured as a Dead Letter Queue.");
  int64_t to_move = 0;
  {
    std::lock_guard ql(src->mu);
    to_move = static_cast<int64_t>(src->size());
  }
  std::string handle = enc::base64_encode(json{{"taskId", ids::uuid()}, {"sourceArn", source}}.dump());
  {
    std::lock_guard tl(tasks_mu_);
    for (auto& t : tasks_) {
      if (t.source_arn == source && t.status == "RUNNING") {
        return ServiceError("UnsupportedOperation", "There is already a task running. Only one active task is "
                                                    "allowed for a source queue arn at a given time.");
      }
    }
    MoveTask t;
    t.handle = handle;
    t.source_arn = source;
    t.destination_arn = destination;
    t.started_ms = now_ms();
    t.max_per_second = rate.value_or(0);
    t.to_move = to_move;
    save_task(t);
    t.timer = env_.scheduler->after(std::chrono::milliseconds(0), [this, handle] { run_move_task(handle); });
    tasks_.push_back(std::move(t));
  }
  return protocol::OperationOutput(json{{"TaskHandle", handle}});
}

void SqsProvider::run_move_task(std::string handle) {
  if (stopping_) return;
  std::string source, destination;
  int64_t budget = 0;
  {
    std::lock_guard tl(tasks_mu_);
    auto t = std::find_if(tasks_.begin(), tasks_.end(), [&](const MoveTask& m) { return m.handle == handle; });
    if (t == tasks_.end() || t->status != "RUNNING") return;
    source = t->source_arn;
    destination = t->destination_arn;
    budget = t->max_per_second > 0 ? std::max<int64_t>(1, t->max_per_second * kMoveTickMs / 1000) : 1000;
    budget = std::min(budget, t->to_move - t->moved);
  }
  QueuePtr src = by_arn(source);
  std::string failure;
  int64_t moved_now = 0;
  bool finished = false;
  if (!src) {
    failure = "The source queue no longer exists.";
  } else {
    // Pick visible messages and their destinations under the source lock; destinations are
    // resolved first so that no two queue locks are ever held together.
    std::vector<std::pair<uint64_t, std::string>> picks;
    int64_t now = now_ms();
    {
      std::lock_guard ql(src->mu);
      for (const auto& [seq, m] : src->messages()) {
        if (static_cast<int64_t>(picks.size()) >= budget) break;
        if (m.visible_at_ms > now) continue;
        picks.emplace_back(seq, destination.empty() ? m.dlq_source_arn : destination);
      }
    }
    std::map<std::string, QueuePtr> dests;
    for (auto& [seq, arn] : picks) {
      if (!dests.count(arn)) dests[arn] = by_arn(arn);
    }
    std::map<std::string, std::vector<Message>> moving;
    {
      std::lock_guard ql(src->mu);
      storage::WriteBatch batch;
      for (auto& [seq, arn] : picks) {
        QueuePtr dest = dests[arn];
        Message* m = src->find(seq);
        if (!m || m->visible_at_ms > now) continue;
        if (!dest) {
          failure = "The destination queue " + arn + " does not exist.";
          break;
        }
        Message copy = *m;
        src->delete_records(fam_, batch, *m);
        src->erase(seq);
        copy.state_apart = false;
        copy.journal = 0;
        copy.seq = next_seq();
        copy.receive_count = 0;
        copy.first_receive_ms = 0;
        copy.receipt_nonce = 0;
        copy.visible_at_ms = now;
        copy.dlq_source_arn.clear();
        batch.put(fam_, dest->message_key(copy.seq), encode_message(copy));
        moving[arn].push_back(std::move(copy));
        ++moved_now;
      }
      if (!batch.empty()) {
        if (Status st = env_.store->write(batch); !st.is_ok()) failure = st.to_string();
      }
    }
    for (auto& [arn, msgs] : moving) insert_redriven(dests[arn], std::move(msgs));
    if (picks.empty()) finished = true;
  }
  std::lock_guard tl(tasks_mu_);
  auto t = std::find_if(tasks_.begin(), tasks_.end(), [&](const MoveTask& m) { return m.handle == handle; });
  if (t == tasks_.end()) return;
  t->moved += moved_now;
  if (!failure.empty()) {
    t->status = "FAILED";
    t->failure_reason = failure;
  } else if (t->status != "RUNNING") {
    return;
  } else if (finished || t->moved >= t->to_move) {
    t->status = "COMPLETED";
  } else {
    t->timer = env_.scheduler->after(std::chrono::milliseconds(kMoveTickMs), [this, handle] { run_move_task(handle); });
  }
  if (moved_now > 0 || t->status != "RUNNING") save_task(*t);
}

Out SqsProvider::list_move_tasks(RequestContext& ctx, json& p) {
  std::string source = string_member(p, "SourceArn");
  auto max = int_param(p, "MaxResults").value_or(1);
  if (max < 1 || max > 10) {
    return invalid(fmt::format("Value {} for parameter MaxResults is invalid. Reason: must be between 1 and 10.", max));
  }
  if (!by_arn(source)) return ServiceError("ResourceNotFoundException", "The resource that you specified for the SourceArn parameter doesn't exist.", 404);
  json results = json::array();
  std::lock_guard tl(tasks_mu_);
  for (auto it = tasks_.rbegin(); it != tasks_.rend() && static_cast<int64_t>(results.size()) < max; ++it) {
    if (it->source_arn != source) continue;
    results.push_back(task_view(it->handle, it->source_arn, it->destination_arn, it->status, it->failure_reason,
                                it->started_ms, it->max_per_second, it->moved, it->to_move));
  }
  return protocol::OperationOutput(json{{"Results", results}});
}

Out SqsProvider::cancel_move_task(RequestContext& ctx, json& p) {
  std::string handle = string_member(p, "TaskHandle");
  std::lock_guard tl(tasks_mu_);
  auto t = std::find_if(tasks_.begin(), tasks_.end(), [&](const MoveTask& m) { return m.handle == handle; });
  if (t == tasks_.end() || t->status != "RUNNING") {
    return ServiceError("ResourceNotFoundException", "Task does not exist.", 404);
  }
  t->status = "CANCELLED";
  env_.scheduler->cancel(t->timer);
  save_task(*t);
  return protocol::OperationOutput(json{{"ApproximateNumberOfMessagesMoved", t->moved}});
}

}  // namespace sless::services::sqs
