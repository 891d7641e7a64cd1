// CloudWatch Logs: log groups, log streams and their events, durable in the "logs" column family.
// Lambda invocations write here (LogsService::append). Thread-safe: one mutex per log stream for
// ordering, no lock across the service.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "services/service.h"

namespace sless::storage {
class Family;
}

namespace sless::services::logs {

struct Event {
  int64_t timestamp_ms;
  std::string message;
};

class LogsService final : public Provider {
 public:
  LogsService();
  std::string_view name() const override { return "logs"; }
  Status start(Env& env) override;
  Status reset() override;

  // Appends events to a stream, creating the group and the stream when missing (as Lambda's
  // logging does). Events need not be sorted.
  Status append(const std::string& account, const std::string& region, const std::string& group,
                const std::string& stream, const std::vector<Event>& events);

 private:
  using Params = nlohmann::json;
  using Out = Outcome<protocol::OperationOutput>;

  Out create_log_group(RequestContext& ctx, Params& p);
  Out delete_log_group(RequestContext& ctx, Params& p);
  Out describe_log_groups(RequestContext& ctx, Params& p);
  Out create_log_stream(RequestContext& ctx, Params& p);
  Out delete_log_stream(RequestContext& ctx, Params& p);
  Out describe_log_streams(RequestContext& ctx, Params& p);
  Out put_log_events(RequestContext& ctx, Params& p);
  Out get_log_events(RequestContext& ctx, Params& p);
  Out filter_log_events(RequestContext& ctx, Params& p);
  Out put_retention_policy(RequestContext& ctx, Params& p);
  Out delete_retention_policy(RequestContext& ctx, Params& p);
  Out tag_resource(RequestContext& ctx, Params& p);
  Out untag_resource(RequestContext& ctx, Params& p);
  Out list_tags_for_resource(RequestContext& ctx, Params& p);

  std::string group_key(const std::string& account, const std::string& region, const std::string& group) const;
  std::string stream_key(const std::string& account, const std::string& region, const std::string& group,
                         const std::string& stream) const;
  std::string events_prefix(const std::string& account, const std::string& region, const std::string& group,
                            const std::string& stream) const;
  bool load(const std::string& key, nlohmann::json* out) const;
  std::mutex& stream_lock(const std::string& key);
  // Resolves logGroupName or logGroupIdentifier (a name or an ARN).
  std::string group_name(const Params& p) const;

  Env* env_ = nullptr;
  storage::Family* family_ = nullptr;
  std::atomic<uint64_t> seq_{0};
  std::mutex locks_mu_;
  std::unordered_map<std::string, std::unique_ptr<std::mutex>> locks_;
};

}  // namespace sless::services::logs
