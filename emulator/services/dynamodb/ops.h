// The DynamoDB and DynamoDB Streams operations, one function each, over an Engine. The
// providers register them; PartiQL reuses the item operations. Each takes the validated params
// tree (and may rewrite it in place) and answers a result (often as a raw JSON body) or an
// AWS-shaped error. Any thread.
#pragma once

#include "protocol/codec.h"
#include "services/dynamodb/engine.h"
#include "services/service.h"

namespace sless::services::dynamodb::ops {

using Output = Outcome<protocol::OperationOutput>;

// tables.cpp
Output create_table(Engine& e, const RequestContext& ctx, Json& p);
Output describe_table(Engine& e, const RequestContext& ctx, Json& p);
Output list_tables(Engine& e, const RequestContext& ctx, Json& p);
Output update_table(Engine& e, const RequestContext& ctx, Json& p);
Output delete_table(Engine& e, const RequestContext& ctx, Json& p);
Output update_time_to_live(Engine& e, const RequestContext& ctx, Json& p);
Output describe_time_to_live(Engine& e, const RequestContext& ctx, Json& p);
Output tag_resource(Engine& e, const RequestContext& ctx, Json& p);
Output untag_resource(Engine& e, const RequestContext& ctx, Json& p);
Output list_tags_of_resource(Engine& e, const RequestContext& ctx, Json& p);
Output describe_endpoints(Engine& e, const RequestContext& ctx, Json& p);
Output describe_limits(Engine& e, const RequestContext& ctx, Json& p);

// items.cpp
Output put_item(Engine& e, const RequestContext& ctx, Json& p);
Output get_item(Engine& e, const RequestContext& ctx, Json& p);
Output update_item(Engine& e, const RequestContext& ctx, Json& p);
Output delete_item(Engine& e, const RequestContext& ctx, Json& p);
Output batch_get_item(Engine& e, const RequestContext& ctx, Json& p);
Output batch_write_item(Engine& e, const RequestContext& ctx, Json& p);
Output transact_get_items(Engine& e, const RequestContext& ctx, Json& p);
Output transact_write_items(Engine& e, const RequestContext& ctx, Json& p);

// query.cpp
Output query(Engine& e, const RequestContext& ctx, Json& p);
Output scan(Engine& e, const RequestContext& ctx, Json& p);

// partiql.cpp
Output execute_statement(Engine& e, const RequestContext& ctx, Json& p);
Output batch_execute_statement(Engine& e, const RequestContext& ctx, Json& p);
Output execute_transaction(Engine& e, const RequestContext& ctx, Json& p);

// streams.cpp (DynamoDB Streams)
Output list_streams(Engine& e, const RequestContext& ctx, Json& p);
Output describe_stream(Engine& e, const RequestContext& ctx, Json& p);
Output get_shard_iterator(Engine& e, const RequestContext& ctx, Json& p);
Output get_records(Engine& e, const RequestContext& ctx, Json& p);

// A raw JSON body as an operation's output.
inline protocol::OperationOutput raw_output(std::string body) {
  protocol::OperationOutput out;
  out.raw_payload = std::move(body);
  return out;
}

}  // namespace sless::services::dynamodb::ops
