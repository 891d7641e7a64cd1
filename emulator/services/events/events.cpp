#include "services/events/events.h"

#include <algorithm>
#include <set>

#include "core/clock.h"
#include "core/ids.h"
#include "core/log.h"
#include "core/time_format.h"
#include "services/delivery.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::events {

using nlohmann::json;
using protocol::OperationOutput;
namespace key = storage::key;

namespace {

constexpr const char* kDefaultBus = "default";

std::string rule_key(const std::string& a, const std::string& r, const std::string& bus, const std::string& name) {
  return a + "/" + r + "/" + bus + "/" + name;
}

std::string rule_store_key(const json& doc) {
  return key::KeyBuilder(doc["account"].get<std::string>(), doc["region"].get<std::string>())
      .str("rule").str(doc["EventBusName"].get<std::string>()).str(doc["Name"].get<std::string>()).take();
}

std::string bus_store_key(const std::string& a, const std::string& r, const std::string& bus) {
  return key::KeyBuilder(a, r).str("bus").str(bus).take();
}

std::string bus_arn(const std::string& region, const std::string& account, const std::string& bus) {
  return ids::arn("events", region, account, "event-bus/" + bus);
}

std::string rule_arn(const std::string& region, const std::string& account, const std::string& bus,
                     const std::string& name) {
  return ids::arn("events", region, account, bus == kDefaultBus ? "rule/" + name : "rule/" + bus + "/" + name);
}

ServiceError not_found(std::string message) { return ServiceError("ResourceNotFoundException", std::move(message)); }

ServiceError validation(std::string message) { return ServiceError("ValidationException", std::move(message)); }

// "$.detail.a.b" → the value at that path, or nullptr.
const json* at_path(const json& root, const std::string& path) {
  if (path == "$") return &root;
  if (path.rfind("$.", 0) != 0) return nullptr;
  const json* cur = &root;
  size_t start = 2;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!cur->is_object() || !cur->contains(part)) return nullptr;
    cur = &(*cur)[part];
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return cur;
}

// What a target receives: the event, or Input, InputPath or InputTransformer's output.
std::string target_input(const json& target, const json& event, const std::string& rule_arn_text,
                         const std::string& rule_name) {
  if (target.contains("Input")) return target["Input"];
  if (target.contains("InputPath")) {
    const json* v = at_path(event, target["InputPath"]);
    return v ? v->dump() : "null";
  }
  if (target.contains("InputTransformer")) {
    const json& t = target["InputTransformer"];
    std::string out = t.value("InputTemplate", "");
    std::map<std::string, json> vars;
    const json paths = t.value("InputPathsMap", json::object());
    for (const auto& [name, path] : paths.items()) {
      const json* v = at_path(event, path.get<std::string>());
      vars[name] = v ? *v : json();
    }
    vars["aws.events.event"] = event;
    vars["aws.events.event.json"] = event;
    vars["aws.events.rule-arn"] = rule_arn_text;
    vars["aws.events.rule-name"] = rule_name;
    vars["aws.events.event.ingestion-time"] = event.value("time", "");
    std::string result;
    size_t i = 0;
    while (i < out.size()) {
      size_t open = out.find('<', i);
      size_t close = open == std::string::npos ? open : out.find('>', open);
      if (open == std::string::npos || close == std::string::npos) {
        result.append(out, i, std::string::npos);
        break;
      }
      result.append(out, i, open - i);
      auto var = vars.find(out.substr(open + 1, close - open - 1));
      if (var == vars.end()) {
        result.append(out, open, close - open + 1);
      } else if (var->second.is_string()) {
        result.append(var->second.get<std::string>());
      } else {
        result.append(var->second.is_null() ? "null" : var->second.dump());
      }
      i = close + 1;
    }
    return result;
  }
  return event.dump();
}

json shown_rule(const json& doc) {
  json out = doc;
  for (const char* f : {"account", "region", "Targets", "created_ms", "Tags"}) out.erase(f);
  return out;
}

}  // namespace

EventsService::EventsService() {
#define SLESS_EVENTS_OP(op, fn) on_sync(op, [this](RequestContext& ctx, json& p) { return fn(ctx, p); })
  SLESS_EVENTS_OP("CreateEventBus", create_event_bus);
  SLESS_EVENTS_OP("DeleteEventBus", delete_event_bus);
  SLESS_EVENTS_OP("DescribeEventBus", describe_event_bus);
  SLESS_EVENTS_OP("ListEventBuses", list_event_buses);
  SLESS_EVENTS_OP("PutRule", put_rule);
  SLESS_EVENTS_OP("DescribeRule", describe_rule);
  SLESS_EVENTS_OP("ListRules", list_rules);
  SLESS_EVENTS_OP("DeleteRule", delete_rule);
  on_sync("EnableRule", [this](RequestContext& c, json& p) { return set_rule_state(c, p, true); });
  on_sync("DisableRule", [this](RequestContext& c, json& p) { return set_rule_state(c, p, false); });
  SLESS_EVENTS_OP("PutTargets", put_targets);
  SLESS_EVENTS_OP("RemoveTargets", remove_targets);
  SLESS_EVENTS_OP("ListTargetsByRule", list_targets_by_rule);
  SLESS_EVENTS_OP("ListRuleNamesByTarget", list_rule_names_by_target);
  SLESS_EVENTS_OP("PutEvents", put_events);
  SLESS_EVENTS_OP("TestEventPattern", test_event_pattern);
  SLESS_EVENTS_OP("TagResource", tag_resource);
  SLESS_EVENTS_OP("UntagResource", untag_resource);
  SLESS_EVENTS_OP("ListTagsForResource", list_tags_for_resource);
#undef SLESS_EVENTS_OP
}

Status EventsService::start(Env& env) {
  env_ = &env;
  family_ = env.store->family("events");
  if (!family_) return Status::internal("cannot open the events column family");
  auto it = env.store->iterate(family_, "", "");
  std::lock_guard lock(mu_);
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view k = it->key();
    std::string account, region, tag;
    if (!key::read_string(k, &account) || !key::read_string(k, &region) || !key::read_string(k, &tag) || tag != "rule") {
      continue;
    }
    auto rule = std::make_shared<Rule>();
    rule->doc = json::parse(it->value(), nullptr, false);
    if (rule->doc.is_discarded()) continue;
    if (rule->doc.contains("ScheduleExpression")) rule->schedule = Schedule::parse(rule->doc["ScheduleExpression"]);
    if (rule->doc.contains("EventPattern")) rule->pattern = json::parse(rule->doc["EventPattern"].get<std::string>(), nullptr, false);
    std::string k2 = rule_key(account, region, rule->doc["EventBusName"], rule->doc["Name"]);
    rules_[k2] = rule;
    std::lock_guard rl(rule->mu);
    arm(rule);
  }
  return it->status();
}

void EventsService::stop() {
  std::lock_guard lock(mu_);
  for (auto& [_, r] : rules_) {
    std::lock_guard rl(r->mu);
    if (r->timer) env_->scheduler->cancel(r->timer);
    r->timer = 0;
    ++r->generation;
  }
}

void EventsService::clock_changed() {
  std::lock_guard lock(mu_);
  for (auto& [_, r] : rules_) {
    std::lock_guard rl(r->mu);
    ++r->generation;
    arm(r);
  }
}

Status EventsService::reset() {
  if (!env_) return Status::ok();
  stop();
  {
    std::lock_guard lock(mu_);
    rules_.clear();
  }
  return env_->store->clear(family_);
}

std::string EventsService::bus_name(const Params& p) const {
  std::string bus = p.value("EventBusName", kDefaultBus);
  if (bus.rfind("arn:", 0) == 0) bus = arn_resource_name(bus);
  return bus.empty() ? kDefaultBus : bus;
}

bool EventsService::bus_exists(const std::string& a, const std::string& r, const std::string& bus) {
  if (bus == kDefaultBus) return true;
  std::string v;
  return env_->store->get(family_, bus_store_key(a, r, bus), &v).is_ok();
}

std::shared_ptr<Rule> EventsService::find_rule(const std::string& a, const std::string& r, const std::string& bus,
                                               const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = rules_.find(rule_key(a, r, bus, name));
  return it == rules_.end() ? nullptr : it->second;
}

Status EventsService::save_rule(const Rule& rule) { return env_->store->put(family_, rule_store_key(rule.doc), rule.doc.dump()); }

void EventsService::arm(const std::shared_ptr<Rule>& rule) {
  if (rule->timer) env_->scheduler->cancel(rule->timer);
  rule->timer = 0;
  if (!rule->schedule || rule->doc.value("State", "ENABLED") != "ENABLED") {
    rule->next_fire_ms = 0;
    return;
  }
  int64_t now = env_->clock->now_ms();
  // Keep a due time that is still ahead or already passed (a clock jump fires it at once);
  // otherwise compute the next one.
  int64_t next = rule->next_fire_ms;
  if (next <= 0) next = rule->schedule->next_after(now, rule->doc.value("created_ms", now));
  rule->next_fire_ms = next;
  if (next <= 0) return;
  std::string k = rule_key(rule->doc["account"], rule->doc["region"], rule->doc["EventBusName"], rule->doc["Name"]);
  int64_t gen = rule->generation;
  rule->timer = env_->scheduler->after(std::chrono::milliseconds(std::max<int64_t>(0, next - now)),
                                       [this, k, gen] { fire(k, gen); });
}

void EventsService::fire(const std::string& k, int64_t generation) {
  std::shared_ptr<Rule> rule;
  {
    std::lock_guard lock(mu_);
    auto it = rules_.find(k);
    if (it == rules_.end()) return;
    rule = it->second;
  }
  json targets, event;
  std::string account, region, arn, name;
  {
    std::lock_guard rl(rule->mu);
    if (rule->generation != generation) return;
    rule->timer = 0;
    // The next run counts from the later of now and this run's due time (no catch-up bursts).
    int64_t now = env_->clock->now_ms();
    rule->next_fire_ms = rule->schedule->next_after(std::max(now, rule->next_fire_ms), rule->doc.value("created_ms", now));
    account = rule->doc["account"];
    region = rule->doc["region"];
    arn = rule->doc["Arn"];
    name = rule->doc["Name"];
    targets = rule->doc.value("Targets", json::array());
    event = json{{"version", "0"},
                 {"id", ids::uuid()},
                 {"detail-type", "Scheduled Event"},
                 {"source", "aws.events"},
                 {"account", account},
                 {"time", timefmt::iso8601(env_->clock->now_ms())},
                 {"region", region},
                 {"resources", json::array({arn})},
                 {"detail", json::object()}};
    arm(rule);
  }
  send_to_targets(targets, event, account, region, arn, name);
}

void EventsService::send_to_targets(const json& targets, const json& event, const std::string& account,
                                    const std::string& region, const std::string& arn, const std::string& name) {
  for (const auto& t : targets) {
    Delivery d;
    d.account = account;
    d.region = region;
    d.target_arn = t["Arn"];
    d.body = target_input(t, event, arn, name);
    if (t.contains("SqsParameters")) d.group_id = t["SqsParameters"].value("MessageGroupId", "");
    if (t.contains("KinesisParameters")) {
      const json* pk = at_path(event, t["KinesisParameters"].value("PartitionKeyPath", ""));
      if (pk) d.partition_key = pk->is_string() ? pk->get<std::string>() : pk->dump();
    }
    std::string target = d.target_arn;
    deliver(*env_, std::move(d), [target, name](std::optional<ServiceError> error) {
      if (error) log::warn("EventBridge rule {}: delivery to {} failed: {}: {}", name, target, error->code, error->message);
    });
  }
}

void EventsService::route(const std::string& account, const std::string& region, const std::string& bus,
                          const json& event) {
  std::vector<std::shared_ptr<Rule>> candidates;
  {
    std::lock_guard lock(mu_);
    std::string prefix = account + "/" + region + "/" + bus + "/";
    for (auto it = rules_.lower_bound(prefix); it != rules_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      candidates.push_back(it->second);
    }
  }
  for (const auto& rule : candidates) {
    json targets;
    std::string arn, name;
    {
      std::lock_guard rl(rule->mu);
      if (rule->doc.value("State", "ENABLED") != "ENABLED" || !rule->pattern.is_object()) continue;
      if (!matches(rule->pattern, event)) continue;
      targets = rule->doc.value("Targets", json::array());
      arn = rule->doc["Arn"];
      name = rule->doc["Name"];
    }
    send_to_targets(targets, event, account, region, arn, name);
  }
}

EventsService::Out EventsService::create_event_bus(RequestContext& ctx, Params& p) {
  std::string name = p["Name"];
  if (name == kDefaultBus || bus_exists(ctx.account, ctx.region, name)) {
    return ServiceError("ResourceAlreadyExistsException", "Event bus " + name + " already exists.");
  }
  json bus{{"Name", name}, {"Arn", bus_arn(ctx.region, ctx.account, name)}, {"CreationTime", ctx.now_ms / 1000.0},
           {"LastModifiedTime", ctx.now_ms / 1000.0}};
  if (p.contains("Description")) bus["Description"] = p["Description"];
  if (p.contains("Tags")) bus["Tags"] = p["Tags"];
  if (Status st = env_->store->put(family_, bus_store_key(ctx.account, ctx.region, name), bus.dump()); !st.is_ok()) {
    return ServiceError::internal(st.to_string());
  }
  json out{{"EventBusArn", bus["Arn"]}};
  if (p.contains("Description")) out["Description"] = p["Description"];
  return OperationOutput(std::move(out));
}

EventsService::Out EventsService::delete_event_bus(RequestContext& ctx, Params& p) {
  std::string name = p["Name"];
  if (name == kDefaultBus) return validation("Cannot delete event bus default.");
  {
    std::lock_guard lock(mu_);
    std::string prefix = ctx.account + "/" + ctx.region + "/" + name + "/";
    auto it = rules_.lower_bound(prefix);
    if (it != rules_.end() && it->first.rfind(prefix, 0) == 0) {
      return validation("Cannot delete event bus because it has rules.");
    }
  }
  env_->store->del(family_, bus_store_key(ctx.account, ctx.region, name)).ignore();
  return OperationOutput();
}

EventsService::Out EventsService::describe_event_bus(RequestContext& ctx, Params& p) {
  std::string name = bus_name(json{{"EventBusName", p.value("Name", kDefaultBus)}});
  if (name == kDefaultBus) {
    return OperationOutput(json{{"Name", name}, {"Arn", bus_arn(ctx.region, ctx.account, name)}});
  }
  std::string v;
  if (!env_->store->get(family_, bus_store_key(ctx.account, ctx.region, name), &v).is_ok()) {
    return not_found("Event bus " + name + " does not exist.");
  }
  json bus = json::parse(v);
  bus.erase("Tags");
  return OperationOutput(std::move(bus));
}

EventsService::Out EventsService::list_event_buses(RequestContext& ctx, Params& p) {
  std::string prefix_filter = p.value("NamePrefix", "");
  json buses = json::array();
  if (std::string(kDefaultBus).rfind(prefix_filter, 0) == 0) {
    buses.push_back(json{{"Name", kDefaultBus}, {"Arn", bus_arn(ctx.region, ctx.account, kDefaultBus)}});
  }
  std::string base = key::KeyBuilder(ctx.account, ctx.region).str("bus").take();
  auto it = env_->store->iterate(family_, base, key::prefix_end(base));
  for (it->seek(base); it->valid(); it->next()) {
    json bus = json::parse(it->value(), nullptr, false);
    if (bus.is_discarded() || bus["Name"].get<std::string>().rfind(prefix_filter, 0) != 0) continue;
    bus.erase("Tags");
    buses.push_back(std::move(bus));
  }
  return OperationOutput(json{{"EventBuses", std::move(buses)}});
}

EventsService::Out EventsService::put_rule(RequestContext& ctx, Params& p) {
  std::string name = p["Name"];
  std::string bus = bus_name(p);
  if (!bus_exists(ctx.account, ctx.region, bus)) return not_found("Event bus " + bus + " does not exist.");
  if (!p.contains("ScheduleExpression") && !p.contains("EventPattern")) {
    return validation("Parameter(s) EventPattern or ScheduleExpression must be specified.");
  }
  std::optional<Schedule> schedule;
  if (p.contains("ScheduleExpression")) {
    if (bus != kDefaultBus) return validation("ScheduleExpression is supported only on the default event bus.");
    schedule = Schedule::parse(p["ScheduleExpression"]);
    if (!schedule) return validation("Parameter ScheduleExpression is not valid.");
  }
  json pattern;
  if (p.contains("EventPattern")) {
    pattern = json::parse(p["EventPattern"].get<std::string>(), nullptr, false);
    if (pattern.is_discarded()) {
      return ServiceError("InvalidEventPatternException", "Event pattern is not valid. Reason: not valid JSON");
    }
    if (auto why = check_pattern(pattern)) {
      return ServiceError("InvalidEventPatternException", "Event pattern is not valid. Reason: " + *why);
    }
  }
  std::string state = p.value("State", "ENABLED");
  auto rule = find_rule(ctx.account, ctx.region, bus, name);
  bool created = false;
  if (!rule) {
    rule = std::make_shared<Rule>();
    created = true;
  }
  std::lock_guard rl(rule->mu);
  json& d = rule->doc;
  if (created) {
    d = json{{"account", ctx.account}, {"region", ctx.region}, {"Name", name}, {"EventBusName", bus},
             {"Arn", rule_arn(ctx.region, ctx.account, bus, name)}, {"Targets", json::array()},
             {"created_ms", ctx.now_ms}, {"CreatedBy", ctx.account}};
  }
  d["State"] = state;
  for (const char* f : {"ScheduleExpression", "EventPattern", "Description", "RoleArn"}) {
    if (p.contains(f)) {
      d[f] = p[f];
    } else {
      d.erase(f);
    }
  }
  if (p.contains("Tags")) {
    for (const auto& t : p["Tags"]) d["Tags"][t["Key"].get<std::string>()] = t["Value"];
  }
  if (schedule && (!rule->schedule || d.value("ScheduleExpression", "") != p.value("ScheduleExpression", ""))) {
    d["created_ms"] = ctx.now_ms;  // a new rate counts from now
  }
  rule->schedule = schedule;
  rule->pattern = pattern;
  rule->next_fire_ms = 0;
  ++rule->generation;
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  if (created) {
    std::lock_guard lock(mu_);
    rules_[rule_key(ctx.account, ctx.region, bus, name)] = rule;
  }
  arm(rule);
  return OperationOutput(json{{"RuleArn", d["Arn"]}});
}

EventsService::Out EventsService::describe_rule(RequestContext& ctx, Params& p) {
  auto rule = find_rule(ctx.account, ctx.region, bus_name(p), p["Name"]);
  if (!rule) return not_found("Rule " + p["Name"].get<std::string>() + " does not exist on EventBus " + bus_name(p) + ".");
  std::lock_guard rl(rule->mu);
  return OperationOutput(shown_rule(rule->doc));
}

EventsService::Out EventsService::list_rules(RequestContext& ctx, Params& p) {
  std::string bus = bus_name(p);
  std::string prefix_filter = p.value("NamePrefix", "");
  std::vector<std::shared_ptr<Rule>> rules;
  {
    std::lock_guard lock(mu_);
    std::string prefix = ctx.account + "/" + ctx.region + "/" + bus + "/";
    for (auto it = rules_.lower_bound(prefix); it != rules_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
      rules.push_back(it->second);
    }
  }
  size_t start = p.contains("NextToken") ? std::strtoull(p["NextToken"].get<std::string>().c_str(), nullptr, 10) : 0;
  size_t limit = p.value("Limit", 100);
  json list = json::array();
  size_t index = 0, shown = 0;
  bool more = false;
  for (const auto& r : rules) {
    std::lock_guard rl(r->mu);
    if (r->doc["Name"].get<std::string>().rfind(prefix_filter, 0) != 0) continue;
    if (index++ < start) continue;
    if (shown == limit) {
      more = true;
      break;
    }
    list.push_back(shown_rule(r->doc));
    ++shown;
  }
  json out{{"Rules", std::move(list)}};
  if (more) out["NextToken"] = std::to_string(start + limit);
  return OperationOutput(std::move(out));
}

EventsService::Out EventsService::delete_rule(RequestContext& ctx, Params& p) {
  std::string bus = bus_name(p);
  auto rule = find_rule(ctx.account, ctx.region, bus, p["Name"]);
  if (!rule) return OperationOutput();  // AWS answers success for a missing rule
  {
    std::lock_guard rl(rule->mu);
    if (!rule->doc.value("Targets", json::array()).empty() && !p.value("Force", false)) {
      return validation("Rule can't be deleted since it has targets.");
    }
    if (rule->timer) env_->scheduler->cancel(rule->timer);
    rule->timer = 0;
    ++rule->generation;
    env_->store->del(family_, rule_store_key(rule->doc)).ignore();
  }
  std::lock_guard lock(mu_);
  rules_.erase(rule_key(ctx.account, ctx.region, bus, p["Name"]));
  return OperationOutput();
}

EventsService::Out EventsService::set_rule_state(RequestContext& ctx, Params& p, bool enabled) {
  auto rule = find_rule(ctx.account, ctx.region, bus_name(p), p["Name"]);
  if (!rule) return not_found("Rule " + p["Name"].get<std::string>() + " does not exist.");
  std::lock_guard rl(rule->mu);
  rule->doc["State"] = enabled ? "ENABLED" : "DISABLED";
  rule->next_fire_ms = 0;
  ++rule->generation;
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  arm(rule);
  return OperationOutput();
}

EventsService::Out EventsService::put_targets(RequestContext& ctx, Params& p) {
  auto rule = find_rule(ctx.account, ctx.region, bus_name(p), p["Rule"]);
  if (!rule) return not_found("Rule " + p["Rule"].get<std::string>() + " does not exist on EventBus " + bus_name(p) + ".");
  std::lock_guard rl(rule->mu);
  json& targets = rule->doc["Targets"];
  // The limit is checked before anything changes: a request that would pass it changes nothing.
  size_t total = targets.size();
  std::set<std::string> added;
  for (const auto& t : p["Targets"]) {
    std::string id = t["Id"];
    bool known = std::any_of(targets.begin(), targets.end(), [&](const json& x) { return x["Id"] == id; });
    if (!known && added.insert(id).second) ++total;
  }
  if (total > 5) {
    return ServiceError("LimitExceededException", "The requested resource exceeds the maximum number allowed.");
  }
  json failed = json::array();
  for (const auto& t : p["Targets"]) {
    std::string service = arn_service(t["Arn"]);
    static const std::vector<std::string> kSupported = {"lambda", "sqs", "sns", "kinesis", "events", "logs", "states"};
    if (std::find(kSupported.begin(), kSupported.end(), service) == kSupported.end()) {
      failed.push_back(json{{"TargetId", t["Id"]}, {"ErrorCode", "ValidationException"},
                            {"ErrorMessage", "sless cannot deliver to " + t["Arn"].get<std::string>()}});
      continue;
    }
    if (t.contains("Input") && json::parse(t["Input"].get<std::string>(), nullptr, false).is_discarded()) {
      failed.push_back(json{{"TargetId", t["Id"]}, {"ErrorCode", "ValidationException"},
                            {"ErrorMessage", "Input is not valid JSON"}});
      continue;
    }
    auto existing = std::find_if(targets.begin(), targets.end(), [&](const json& x) { return x["Id"] == t["Id"]; });
    if (existing != targets.end()) {
      *existing = t;
    } else {
      targets.push_back(t);
    }
  }
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(json{{"FailedEntryCount", failed.size()}, {"FailedEntries", failed}});
}

EventsService::Out EventsService::remove_targets(RequestContext& ctx, Params& p) {
  auto rule = find_rule(ctx.account, ctx.region, bus_name(p), p["Rule"]);
  if (!rule) return not_found("Rule " + p["Rule"].get<std::string>() + " does not exist on EventBus " + bus_name(p) + ".");
  std::lock_guard rl(rule->mu);
  json& targets = rule->doc["Targets"];
  for (const auto& id : p["Ids"]) {
    targets.erase(std::remove_if(targets.begin(), targets.end(), [&](const json& x) { return x["Id"] == id; }),
                  targets.end());
  }
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput(json{{"FailedEntryCount", 0}, {"FailedEntries", json::array()}});
}

EventsService::Out EventsService::list_targets_by_rule(RequestContext& ctx, Params& p) {
  auto rule = find_rule(ctx.account, ctx.region, bus_name(p), p["Rule"]);
  if (!rule) return not_found("Rule " + p["Rule"].get<std::string>() + " does not exist on EventBus " + bus_name(p) + ".");
  std::lock_guard rl(rule->mu);
  return OperationOutput(json{{"Targets", rule->doc.value("Targets", json::array())}});
}

EventsService::Out EventsService::list_rule_names_by_target(RequestContext& ctx, Params& p) {
  std::string target = p["TargetArn"];
  std::string bus = bus_name(p);
  json names = json::array();
  std::lock_guard lock(mu_);
  std::string prefix = ctx.account + "/" + ctx.region + "/" + bus + "/";
  for (auto it = rules_.lower_bound(prefix); it != rules_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
    std::lock_guard rl(it->second->mu);
    for (const auto& t : it->second->doc.value("Targets", json::array())) {
      if (t["Arn"] == target) {
        names.push_back(it->second->doc["Name"]);
        break;
      }
    }
  }
  return OperationOutput(json{{"RuleNames", std::move(names)}});
}

EventsService::Out EventsService::put_events(RequestContext& ctx, Params& p) {
  if (p["Entries"].size() > 10) {
    return validation("1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must "
                      "have length less than or equal to 10");
  }
  json results = json::array();
  int failed = 0;
  for (const auto& e : p["Entries"]) {
    auto fail = [&](const char* code, std::string message) {
      ++failed;
      results.push_back(json{{"ErrorCode", code}, {"ErrorMessage", std::move(message)}});
    };
    if (!e.contains("Source")) {
      fail("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument.");
      continue;
    }
    if (!e.contains("DetailType")) {
      fail("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument.");
      continue;
    }
    if (!e.contains("Detail")) {
      fail("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument.");
      continue;
    }
    json detail = json::parse(e["Detail"].get<std::string>(), nullptr, false);
    if (detail.is_discarded() || !detail.is_object()) {
      fail("MalformedDetail", "Detail is malformed.");
      continue;
    }
    std::string bus = bus_name(e);
    if (!bus_exists(ctx.account, ctx.region, bus)) {
      fail("InvalidArgument", "Event bus " + bus + " does not exist.");
      continue;
    }
    std::string id = ids::uuid();
    int64_t time_ms = e.contains("Time") ? static_cast<int64_t>(e["Time"].get<double>() * 1000) : ctx.now_ms;
    json event{{"version", "0"},
               {"id", id},
               {"detail-type", e["DetailType"]},
               {"source", e["Source"]},
               {"account", ctx.account},
               {"time", timefmt::iso8601(time_ms)},
               {"region", ctx.region},
               {"resources", e.value("Resources", json::array())},
               {"detail", std::move(detail)}};
    route(ctx.account, ctx.region, bus, event);
    results.push_back(json{{"EventId", id}});
  }
  return OperationOutput(json{{"FailedEntryCount", failed}, {"Entries", std::move(results)}});
}

EventsService::Out EventsService::test_event_pattern(RequestContext&, Params& p) {
  json pattern = json::parse(p["EventPattern"].get<std::string>(), nullptr, false);
  if (pattern.is_discarded()) return ServiceError("InvalidEventPatternException", "Event pattern is not valid. Reason: not valid JSON");
  if (auto why = check_pattern(pattern)) {
    return ServiceError("InvalidEventPatternException", "Event pattern is not valid. Reason: " + *why);
  }
  json event = json::parse(p["Event"].get<std::string>(), nullptr, false);
  if (event.is_discarded() || !event.is_object()) return ServiceError("InvalidEventPatternException", "Event is not valid JSON");
  for (const char* f : {"id", "account", "source", "time", "region", "detail-type"}) {
    if (!event.contains(f)) return validation("Parameter Event is not valid. Reason: Provided Event is missing required field " + std::string(f));
  }
  return OperationOutput(json{{"Result", matches(pattern, event)}});
}

namespace {
// arn:aws:events:<region>:<account>:rule/[bus/]name → (bus, name)
std::optional<std::pair<std::string, std::string>> rule_from_arn(const std::string& arn) {
  auto pos = arn.find(":rule/");
  if (pos == std::string::npos) return std::nullopt;
  std::string rest = arn.substr(pos + 6);
  auto slash = rest.find('/');
  if (slash == std::string::npos) return std::make_pair(std::string(kDefaultBus), rest);
  return std::make_pair(rest.substr(0, slash), rest.substr(slash + 1));
}
}  // namespace

EventsService::Out EventsService::tag_resource(RequestContext& ctx, Params& p) {
  auto ref = rule_from_arn(p["ResourceARN"]);
  auto rule = ref ? find_rule(ctx.account, ctx.region, ref->first, ref->second) : nullptr;
  if (!rule) return not_found("Resource " + p["ResourceARN"].get<std::string>() + " not found.");
  std::lock_guard rl(rule->mu);
  for (const auto& t : p["Tags"]) rule->doc["Tags"][t["Key"].get<std::string>()] = t["Value"];
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

EventsService::Out EventsService::untag_resource(RequestContext& ctx, Params& p) {
  auto ref = rule_from_arn(p["ResourceARN"]);
  auto rule = ref ? find_rule(ctx.account, ctx.region, ref->first, ref->second) : nullptr;
  if (!rule) return not_found("Resource " + p["ResourceARN"].get<std::string>() + " not found.");
  std::lock_guard rl(rule->mu);
  for (const auto& k : p["TagKeys"]) {
    if (rule->doc.contains("Tags")) rule->doc["Tags"].erase(k.get<std::string>());
  }
  if (Status st = save_rule(*rule); !st.is_ok()) return ServiceError::internal(st.to_string());
  return OperationOutput();
}

EventsService::Out EventsService::list_tags_for_resource(RequestContext& ctx, Params& p) {
  auto ref = rule_from_arn(p["ResourceARN"]);
  auto rule = ref ? find_rule(ctx.account, ctx.region, ref->first, ref->second) : nullptr;
  if (!rule) return not_found("Resource " + p["ResourceARN"].get<std::string>() + " not found.");
  std::lock_guard rl(rule->mu);
  json tags = json::array();
  const json stored = rule->doc.value("Tags", json::object());
  for (const auto& [k, v] : stored.items()) tags.push_back(json{{"Key", k}, {"Value", v}});
  return OperationOutput(json{{"Tags", std::move(tags)}});
}

}  // namespace sless::services::events
