// Functions the bench's Lambda scenarios deploy (bench/harness/scenarios.py): a bare echo for the
// invoke path, and an SQS -> DynamoDB writer for the event source pipeline.
#include <cstdlib>
#include <string>

#include <sless/function.hpp>

using nlohmann::json;
using sless::invocation_request;
using sless::invocation_response;

namespace {

// Answers with the event unchanged: no parsing, so what is measured is the invoke path itself.
invocation_response echo(const invocation_request& req) { return invocation_response::success(req.payload); }

// Writes every SQS record of the event as an item of the table named by TABLE_NAME (pk = the
// message body, sk = "msg"), with BatchWriteItem in chunks of 25, resending unprocessed items.
invocation_response sqs_to_dynamodb(const invocation_request& req) {
  const char* table = std::getenv("TABLE_NAME");
  if (!table) return invocation_response::failure("TABLE_NAME is not set", "Configuration");
  json event = json::parse(req.payload, nullptr, false);
  if (!event.is_object()) return invocation_response::failure("not an SQS event", "InvalidEvent");
  const json& records = event.value("Records", json::array());
  auto ddb = sless::dynamodb();
  for (size_t start = 0; start < records.size(); start += 25) {
    json writes = json::array();
    for (size_t i = start; i < records.size() && i < start + 25; ++i) {
      const json& r = records[i];
      writes.push_back({{"PutRequest",
                         {{"Item",
                           {{"pk", {{"S", r.value("body", std::string())}}},
                            {"sk", {{"S", "msg"}}},
                            {"message_id", {{"S", r.value("messageId", std::string())}}}}}}}});
    }
    for (int attempt = 0; !writes.empty(); ++attempt) {
      if (attempt == 10) return invocation_response::failure("items stayed unprocessed", "Unprocessed");
      auto out = ddb.call("BatchWriteItem", {{"RequestItems", {{table, writes}}}});
      if (!out.ok) return invocation_response::failure(out.error_message, out.error_code);
      writes = out.result.value("UnprocessedItems", json::object()).value(table, json::array());
    }
  }
  return invocation_response::success("{}");
}

}  // namespace

SLESS_HANDLER(echo)
SLESS_HANDLER(sqs_to_dynamodb)
