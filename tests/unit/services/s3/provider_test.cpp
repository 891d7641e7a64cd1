#include <catch2/catch.hpp>

#include "core/clock.h"
#include "core/config.h"
#include "core/scheduler.h"
#include "services/registry.h"
#include "services/s3/provider.h"
#include "storage/store.h"
#include "unit/support/manual_scheduler.h"

using namespace sless;
using namespace sless::services;
using nlohmann::json;

namespace {

using sless::testing::ManualScheduler;  // timers never fire here: the lifecycle sweep is called directly
struct S3Fixture {
  std::unique_ptr<storage::Store> store;
  ManualScheduler scheduler;
  ManualClock clock;
  Config config;
  Registry registry;
  Env env;
  s3::S3Provider* s3 = nullptr;
  std::vector<std::pair<s3::EventTarget, s3::ObjectEvent>> events;

  S3Fixture() {
    storage::Options o;
    o.in_memory = true;
    store = std::move(storage::Store::open(o)).value();
    env.store = store.get();
    env.scheduler = &scheduler;
    env.clock = &clock;
    env.config = &config;
    env.registry = &registry;
    s3 = registry.get<s3::S3Provider>("s3");
    REQUIRE(s3 != nullptr);
    s3->add_event_sink([this](const s3::EventTarget& t, const s3::ObjectEvent& e) { events.emplace_back(t, e); });
    REQUIRE(registry.start_all(env).is_ok());
  }
  ~S3Fixture() { registry.stop_all(); }

  Outcome<protocol::OperationOutput> call(const char* op, json params) {
    std::optional<Outcome<protocol::OperationOutput>> out;
    RequestContext ctx;
    ctx.account = "000000000000";
    ctx.region = "us-east-1";
    ctx.now_ms = clock.now_ms();
    ctx.request_id = "req";
    registry.call("s3", op, std::move(params), ctx, [&](Outcome<protocol::OperationOutput> o) { out = std::move(o); });
    REQUIRE(out.has_value());
    return std::move(*out);
  }
};

}  // namespace

TEST_CASE("object events reach sinks for the matching notification destinations", "[s3]") {
  S3Fixture f;
  REQUIRE(f.call("CreateBucket", {{"Bucket", "events"}}).ok());
  json config = {{"QueueConfigurations",
                  {{{"Id", "q"},
                    {"QueueArn", "arn:aws:sqs:us-east-1:000000000000:uploads"},
                    {"Events", {"s3:ObjectCreated:*"}},
                    {"Filter", {{"Key", {{"FilterRules", {{{"Name", "prefix"}, {"Value", "in/"}}}}}}}}}}},
                 {"LambdaFunctionConfigurations",
                  {{{"Id", "fn"},
                    {"LambdaFunctionArn", "arn:aws:lambda:us-east-1:000000000000:function:f"},
                    {"Events", {"s3:ObjectRemoved:*"}}}}}};
  REQUIRE(f.call("PutBucketNotificationConfiguration", {{"Bucket", "events"}, {"NotificationConfiguration", config}}).ok());
  REQUIRE(f.call("PutObject", {{"Bucket", "events"}, {"Key", "in/a.jpg"}}).ok());
  REQUIRE(f.call("PutObject", {{"Bucket", "events"}, {"Key", "out/b.jpg"}}).ok());  // filtered out
  REQUIRE(f.call("DeleteObject", {{"Bucket", "events"}, {"Key", "in/a.jpg"}}).ok());
  REQUIRE(f.events.size() == 2);
  CHECK(f.events[0].first.kind == s3::EventTarget::Kind::kQueue);
  CHECK(f.events[0].first.arn == "arn:aws:sqs:us-east-1:000000000000:uploads");
  CHECK(f.events[0].second.event_name == "ObjectCreated:Put");
  CHECK(f.events[0].second.key == "in/a.jpg");
  CHECK(f.events[0].second.etag == "d41d8cd98f00b204e9800998ecf8427e");  // MD5 of the empty body
  CHECK(f.events[1].first.configuration_id == "fn");
  CHECK(f.events[1].second.event_name == "ObjectRemoved:Delete");
  json message = s3::event_message(f.events[0].first, f.events[0].second);
  CHECK(message["Records"][0]["s3"]["object"]["key"] == "in/a.jpg");
  CHECK(message["Records"][0]["s3"]["configurationId"] == "q");
}

TEST_CASE("the lifecycle sweep expires objects by age", "[s3]") {
  S3Fixture f;
  REQUIRE(f.call("CreateBucket", {{"Bucket", "aging"}}).ok());
  REQUIRE(f.call("PutObject", {{"Bucket", "aging"}, {"Key", "logs/1"}}).ok());
  REQUIRE(f.call("PutObject", {{"Bucket", "aging"}, {"Key", "keep/1"}}).ok());
  json rules = {{"Rules",
                 {{{"ID", "logs"}, {"Status", "Enabled"}, {"Filter", {{"Prefix", "logs/"}}}, {"Expiration", {{"Days", 2}}}}}}};
  REQUIRE(f.call("PutBucketLifecycleConfiguration", {{"Bucket", "aging"}, {"LifecycleConfiguration", rules}}).ok());
  f.s3->run_lifecycle();
  CHECK(f.call("HeadObject", {{"Bucket", "aging"}, {"Key", "logs/1"}}).ok());  // one day is not two
  f.clock.advance_ms(3 * 86400000LL);
  f.s3->run_lifecycle();
  auto gone = f.call("HeadObject", {{"Bucket", "aging"}, {"Key", "logs/1"}});
  REQUIRE_FALSE(gone.ok());
  CHECK(gone.error().code == "NoSuchKey");
  CHECK(f.call("HeadObject", {{"Bucket", "aging"}, {"Key", "keep/1"}}).ok());
}
