#include "services/dynamodb/provider.h"

#include "services/dynamodb/ops.h"

namespace sless::services::dynamodb {

namespace {

using Op = ops::Output (*)(Engine&, const RequestContext&, Json&);

}  // namespace

DynamoDbService::DynamoDbService() : engine_(std::make_unique<Engine>()) {
  static constexpr std::pair<const char*, Op> kOps[] = {
      {"CreateTable", ops::create_table},
      {"DescribeTable", ops::describe_table},
      {"ListTables", ops::list_tables},
      {"UpdateTable", ops::update_table},
      {"DeleteTable", ops::delete_table},
      {"UpdateTimeToLive", ops::update_time_to_live},
      {"DescribeTimeToLive", ops::describe_time_to_live},
      {"TagResource", ops::tag_resource},
      {"UntagResource", ops::untag_resource},
      {"ListTagsOfResource", ops::list_tags_of_resource},
      {"DescribeEndpoints", ops::describe_endpoints},
      {"DescribeLimits", ops::describe_limits},
      {"PutItem", ops::put_item},
      {"GetItem", ops::get_item},
      {"UpdateItem", ops::update_item},
      {"DeleteItem", ops::delete_item},
      {"BatchGetItem", ops::batch_get_item},
      {"BatchWriteItem", ops::batch_write_item},
      {"TransactGetItems", ops::transact_get_items},
      {"TransactWriteItems", ops::transact_write_items},
      {"Query", ops::query},
      {"Scan", ops::scan},
      {"ExecuteStatement", ops::execute_statement},
      {"BatchExecuteStatement", ops::batch_execute_statement},
      {"ExecuteTransaction", ops::execute_transaction},
  };
  for (const auto& [name, fn] : kOps) {
    on_sync(name, [this, fn = fn](RequestContext& ctx, Json& params) { return fn(*engine_, ctx, params); });
  }
}

DynamoDbService::~DynamoDbService() = default;

Status DynamoDbService::start(Env& env) { return engine_->start(env.store, env.scheduler, env.clock); }

void DynamoDbService::stop() { engine_->stop(); }

Status DynamoDbService::reset() { return engine_->reset(); }

nlohmann::json DynamoDbService::describe() const {
  size_t tables = 0;
  for (const auto& t : engine_->all_tables()) {
    tables += t ? 1 : 0;
  }
  return nlohmann::json{{"tables", tables}};
}

DynamoDbStreamsService::DynamoDbStreamsService(Engine& engine) : engine_(engine) {
  static constexpr std::pair<const char*, Op> kOps[] = {
      {"ListStreams", ops::list_streams},
      {"DescribeStream", ops::describe_stream},
      {"GetShardIterator", ops::get_shard_iterator},
      {"GetRecords", ops::get_records},
  };
  for (const auto& [name, fn] : kOps) {
    on_sync(name, [this, fn = fn](RequestContext& ctx, Json& params) { return fn(engine_, ctx, params); });
  }
}

Status DynamoDbStreamsService::reset() { return engine_.reset_streams(); }

}  // namespace sless::services::dynamodb
