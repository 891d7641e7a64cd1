// The SNS provider (query protocol): topics and subscriptions in RocksDB (family "sns"),
// publishes fanned out to SQS (in-process), HTTP/HTTPS endpoints (a small delivery thread),
// functions (a hook the function host registers) and recorded email/SMS. Every delivery is
// written to an outbox in the publish's WriteBatch and removed once done, so a publish that
// returned a MessageId reaches its subscribers even across a restart. Any thread may call it.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "services/service.h"

namespace sless::storage {
class Family;
class WriteBatch;
}  // namespace sless::storage

namespace sless::services::sqs {
class SqsProvider;
struct SendInput;
}

namespace sless::services::sns {

// A notification for a `lambda` subscription: the event the function receives.
struct LambdaDelivery {
  std::string function_arn;       // the subscription's endpoint
  std::string subscription_arn;
  nlohmann::json event;           // {"Records":[{"EventSource":"aws:sns",...,"Sns":{...}}]}
};
// Delivers one event and calls `done(true)` once the function accepted it (asynchronous
// invocation), `done(false)` to have SNS retry later. `done` may run on any thread.
using LambdaDeliverer = std::function<void(const LambdaDelivery&, std::function<void(bool)> done)>;

class SnsProvider final : public Provider {
 public:
  SnsProvider();
  ~SnsProvider() override;

  std::string_view name() const override { return "sns"; }
  Status start(Env& env) override;
  void stop() override;
  Status reset() override;
  nlohmann::json describe() const override;

  // The function host registers this once; pending lambda deliveries are then drained.
  void set_lambda_deliverer(LambdaDeliverer deliverer);
  // Email, email-json and SMS notifications (and confirmation requests), newest last.
  std::vector<nlohmann::json> recorded(size_t max = 100) const;

  struct Topic;
  struct Subscription;

 private:
  using TopicPtr = std::shared_ptr<Topic>;
  using SubPtr = std::shared_ptr<Subscription>;
  struct Delivery;

  Outcome<protocol::OperationOutput> create_topic(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> delete_topic(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_topics(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> get_topic_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> set_topic_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> subscribe(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> confirm_subscription(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> unsubscribe(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_subscriptions(RequestContext& ctx, nlohmann::json& p, bool by_topic);
  Outcome<protocol::OperationOutput> get_subscription_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> set_subscription_attributes(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> publish(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> publish_batch(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> tag_resource(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> untag_resource(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> list_tags(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> add_permission(RequestContext& ctx, nlohmann::json& p);
  Outcome<protocol::OperationOutput> remove_permission(RequestContext& ctx, nlohmann::json& p);

  TopicPtr find_topic(std::string_view arn) const;
  SubPtr find_subscription(std::string_view arn) const;
  Status persist_topic(const Topic& t);
  Status persist_subscription(const Subscription& s);

  // One publish: validation, then the outbox records in one batch, then delivery.
  struct PublishInput;
  Outcome<nlohmann::json> publish_one(const RequestContext& ctx, const TopicPtr& topic, PublishInput& in,
                                      storage::WriteBatch& batch, std::vector<Delivery>& out);
  std::optional<ServiceError> write_and_deliver(storage::WriteBatch& batch, std::vector<Delivery> deliveries);
  static sqs::SendInput sqs_input(const Delivery& d, sqs::SqsProvider& q);
  void dispatch(Delivery d);
  void deliver_sqs(Delivery d);
  void deliver_http(Delivery d);
  void deliver_lambda(Delivery d);
  void record(Delivery d);
  void finish(const Delivery& d);
  void retry_or_dead_letter(Delivery d);
  void send_confirmation(const RequestContext& ctx, const Topic& t, const Subscription& s);
  void http_worker();

  sqs::SqsProvider* sqs();
  uint64_t next_seq() { return seq_.fetch_add(1, std::memory_order_relaxed); }

  Env env_;
  storage::Family* fam_ = nullptr;
  std::atomic<uint64_t> seq_{1};
  std::atomic<bool> stopping_{false};

  mutable std::shared_mutex dir_mu_;
  std::map<std::string, TopicPtr> topics_;                  // by ARN (sorted for ListTopics)
  std::map<std::string, SubPtr> subscriptions_;             // by ARN

  std::mutex lambda_mu_;
  LambdaDeliverer lambda_;
  std::vector<std::shared_ptr<Delivery>> lambda_pending_;

  // HTTP deliveries run on their own thread so io threads never block on a slow endpoint.
  std::mutex http_mu_;
  std::condition_variable http_cv_;
  std::deque<std::shared_ptr<Delivery>> http_jobs_;
  std::vector<std::thread> http_threads_;

  mutable std::mutex recorded_mu_;
  std::deque<nlohmann::json> recorded_;
};

}  // namespace sless::services::sns
