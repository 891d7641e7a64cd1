// EventBridge: event buses, rules (event patterns and schedules), targets, and PutEvents routing
// events to targets. Rules and buses live in the "events" column family; a cache of rules is
// rebuilt at start and schedule timers are re-armed. Thread-safe: one mutex per rule; the rule
// map has its own.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/scheduler.h"
#include "services/events/pattern.h"
#include "services/service.h"

namespace sless::storage {
class Family;
}

namespace sless::services::events {

struct Rule {
  std::mutex mu;
  nlohmann::json doc;  // Name, Arn, EventBusName, EventPattern, ScheduleExpression, State, ..., Targets
  std::optional<Schedule> schedule;
  nlohmann::json pattern;  // parsed EventPattern
  Scheduler::TimerId timer = 0;
  int64_t next_fire_ms = 0;  // when the armed timer is due (schedule rules)
  int64_t generation = 0;  // bumps on every change, so a stale timer does nothing
};

class EventsService final : public Provider {
 public:
  EventsService();
  std::string_view name() const override { return "events"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  void clock_changed() override;

  // Routes one event (already shaped: version, id, detail-type, source, ...) on a bus.
  void route(const std::string& account, const std::string& region, const std::string& bus, const nlohmann::json& event);

 private:
  using Out = Outcome<protocol::OperationOutput>;
  using Params = nlohmann::json;

  Out create_event_bus(RequestContext& ctx, Params& p);
  Out delete_event_bus(RequestContext& ctx, Params& p);
  Out describe_event_bus(RequestContext& ctx, Params& p);
  Out list_event_buses(RequestContext& ctx, Params& p);
  Out put_rule(RequestContext& ctx, Params& p);
  Out describe_rule(RequestContext& ctx, Params& p);
  Out list_rules(RequestContext& ctx, Params& p);
  Out delete_rule(RequestContext& ctx, Params& p);
  Out set_rule_state(RequestContext& ctx, Params& p, bool enabled);
  Out put_targets(RequestContext& ctx, Params& p);
  Out remove_targets(RequestContext& ctx, Params& p);
  Out list_targets_by_rule(RequestContext& ctx, Params& p);
  Out list_rule_names_by_target(RequestContext& ctx, Params& p);
  Out put_events(RequestContext& ctx, Params& p);
  Out test_event_pattern(RequestContext& ctx, Params& p);
  Out tag_resource(RequestContext& ctx, Params& p);
  Out untag_resource(RequestContext& ctx, Params& p);
  Out list_tags_for_resource(RequestContext& ctx, Params& p);

  std::string bus_name(const Params& p) const;  // EventBusName (a name or an ARN), default "default"
  bool bus_exists(const std::string& account, const std::string& region, const std::string& bus);
  std::shared_ptr<Rule> find_rule(const std::string& account, const std::string& region, const std::string& bus,
                                  const std::string& name);
  Status save_rule(const Rule& rule);
  void arm(const std::shared_ptr<Rule>& rule);  // (re)arms a schedule rule's timer; rule->mu held
  void fire(const std::string& key, int64_t generation);
  void send_to_targets(const nlohmann::json& targets, const nlohmann::json& event, const std::string& account,
                       const std::string& region, const std::string& rule_arn, const std::string& rule_name);

  Env* env_ = nullptr;
  storage::Family* family_ = nullptr;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Rule>> rules_;  // "<account>/<region>/<bus>/<name>"
};

}  // namespace sless::services::events
