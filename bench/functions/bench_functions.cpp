// Functions the bench's Lambda scenarios deploy (bench/harness/scenarios.py): a bare echo for the
// invoke path, an SQS -> DynamoDB writer for the event source pipeline, and a DynamoDB reader
// behind an HTTP API route (GET /items/{id}).
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
  json event = sless::json_text::parse(req.payload);
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

// An attribute value of DynamoDB's typed form ({"S": "x"}, {"N": "1.5"}, {"M": {...}}, ...) as
// plain JSON. Numbers stay numbers when JSON can hold them, else they stay text; binary values
// stay base64 text.
json plain(const json& typed) {
  if (!typed.is_object() || typed.size() != 1) return nullptr;
  auto only = typed.begin();
  const std::string& type = only.key();
  const json& value = only.value();
  if (type == "N" && value.is_string()) {
    json number = json::parse(value.get_ref<const std::string&>(), nullptr, false);
    return number.is_number() ? number : value;
  }
  if (type == "M" && value.is_object()) {
    json out = json::object();
    for (const auto& [name, member] : value.items()) out[name] = plain(member);
    return out;
  }
  if (type == "L" && value.is_array()) {
    json out = json::array();
    for (const auto& element : value) out.push_back(plain(element));
    return out;
  }
  if (type == "NS" && value.is_array()) {
    json out = json::array();
    for (const auto& n : value) out.push_back(plain(json{{"N", n}}));
    return out;
  }
  if (type == "NULL") return nullptr;
  return value;  // S, B, BOOL, SS, BS
}

// An API Gateway (payload 2.0) proxy answer with a JSON body.
invocation_response http_json(int status, const json& body) {
  return invocation_response::success(json{{"statusCode", status},
                                           {"headers", {{"Content-Type", "application/json"}}},
                                           {"body", body.dump()}}
                                          .dump());
}

// GET /items/{id} of an HTTP API: GetItem {id: <path parameter>} on the table named by
// TABLE_NAME, answered as the item in plain JSON; 404 when there is no such item, 500 when the
// call fails.
invocation_response get_item(const invocation_request& req) {
  const char* table = std::getenv("TABLE_NAME");
  if (!table) return invocation_response::failure("TABLE_NAME is not set", "Configuration");
  json event = sless::json_text::parse(req.payload);
  json id;
  if (event.is_object() && event.contains("pathParameters") && event["pathParameters"].is_object()) {
    id = event["pathParameters"].value("id", json());
  }
  if (!id.is_string()) return http_json(400, {{"message", "no id in the path"}});
  auto out = sless::dynamodb().call("GetItem", {{"TableName", table}, {"Key", {{"id", {{"S", id}}}}}});
  if (!out.ok) return http_json(500, {{"message", out.error_code + ": " + out.error_message}});
  auto item = out.result.find("Item");
  if (item == out.result.end() || !item->is_object()) return http_json(404, {{"message", "not found"}});
  json answer = json::object();
  for (const auto& [name, value] : item->items()) answer[name] = plain(value);
  return http_json(200, answer);
}

}  // namespace

SLESS_HANDLER(echo)
SLESS_HANDLER(sqs_to_dynamodb)
SLESS_HANDLER(get_item)
