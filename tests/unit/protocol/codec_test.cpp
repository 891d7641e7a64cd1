// The protocol codecs on the shapes that matter most: flattened and nested query structures,
// REST routing by query keys and headers, XML in and out, JSON renames, error shapes.
#include <algorithm>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "core/time_format.h"
#include "protocol/codec.h"
#include "protocol/model.h"

using nlohmann::json;
using sless::http::Request;
using namespace sless::protocol;

namespace {

const ServiceModel& model(const char* name) {
  const ServiceModel* m = ModelRegistry::instance().get(name);
  REQUIRE(m);
  return *m;
}

Request form(std::string body) {
  Request r;
  r.method = "POST";
  r.target = "/";
  r.headers.add("Content-Type", "application/x-www-form-urlencoded");
  r.body = std::move(body);
  return r;
}

Request rest(std::string method, std::string target, std::string body = {}) {
  Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  return r;
}

std::string op_of(const char* m, const Request& r) {
  auto p = parse_request(model(m), r);
  if (!p.ok()) return "error:" + p.error().code + ":" + p.error().message;
  return p.value().op->name;
}

}  // namespace

TEST_CASE("query: flattened maps and lists of SQS", "[protocol][query]") {
  auto p = parse_request(model("sqs-query"),
                         form("Action=SendMessageBatch&Version=2012-11-05&QueueUrl=http%3A%2F%2Fh%2F000000000000%2Fq"
                              "&SendMessageBatchRequestEntry.1.Id=a&SendMessageBatchRequestEntry.1.MessageBody=hello+world"
                              "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Name=color"
                              "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.DataType=String"
                              "&SendMessageBatchRequestEntry.1.MessageAttribute.1.Value.StringValue=red"
                              "&SendMessageBatchRequestEntry.2.Id=b&SendMessageBatchRequestEntry.2.MessageBody=x"
                              "&SendMessageBatchRequestEntry.2.DelaySeconds=5"));
  REQUIRE(p.ok());
  const json& params = p.value().params;
  CHECK(params["QueueUrl"] == "http://h/000000000000/q");
  REQUIRE(params["Entries"].size() == 2);
  CHECK(params["Entries"][0]["MessageBody"] == "hello world");
  CHECK(params["Entries"][0]["MessageAttributes"]["color"]["StringValue"] == "red");
  CHECK(params["Entries"][1]["DelaySeconds"] == 5);
}

TEST_CASE("query: attribute name lists and the queue URL from the path", "[protocol][query]") {
  Request r = form("Action=ReceiveMessage&AttributeName.1=All&AttributeName.2=SentTimestamp&MaxNumberOfMessages=10");
  r.target = "/000000000000/jobs";
  r.headers.add("Host", "localhost:4566");
  auto p = parse_request(model("sqs-query"), r);
  REQUIRE(p.ok());
  CHECK(p.value().params["AttributeNames"] == json({"All", "SentTimestamp"}));
  CHECK(p.value().params["MaxNumberOfMessages"] == 10);
  CHECK(p.value().params["QueueUrl"] == "http://localhost:4566/000000000000/jobs");
}

TEST_CASE("query: SNS entry maps and bad numbers", "[protocol][query]") {
  auto p = parse_request(model("sns"), form("Action=Publish&TopicArn=arn&Message=hi"
                                            "&MessageAttributes.entry.1.Name=n"
                                            "&MessageAttributes.entry.1.Value.DataType=Number"
                                            "&MessageAttributes.entry.1.Value.StringValue=5"));
  REQUIRE(p.ok());
  CHECK(p.value().params["MessageAttributes"]["n"]["DataType"] == "Number");

  auto bad = parse_request(model("sqs-query"), form("Action=ReceiveMessage&QueueUrl=u&MaxNumberOfMessages=ten"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "InvalidParameterValue");

  auto missing = parse_request(model("sqs-query"), form("Action=CreateQueue"));
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == "MissingParameter");
  CHECK(missing.error().message == "The request must contain the parameter QueueName.");
}

TEST_CASE("query: results and errors as XML", "[protocol][query]") {
  const auto& m = model("sqs-query");
  const Operation* op = m.find_operation("ReceiveMessage");
  OperationOutput out(json{{"Messages",
                            {{{"MessageId", "m1"},
                              {"Body", "a<b"},
                              {"Attributes", {{"SentTimestamp", "1"}}},
                              {"MessageAttributes", {{"c", {{"DataType", "String"}, {"StringValue", "v"}}}}}}}}});
  auto res = serialize_result(m, *op, std::move(out), "rid");
  INFO(res.body);
  CHECK(res.body.find("<ReceiveMessageResponse xmlns=\"http://queue.amazonaws.com/doc/2012-11-05/\">") != std::string::npos);
  CHECK(res.body.find("<ReceiveMessageResult><Message><MessageId>m1</MessageId>") != std::string::npos);
  CHECK(res.body.find("<Body>a&lt;b</Body>") != std::string::npos);
  CHECK(res.body.find("<Attribute><Name>SentTimestamp</Name><Value>1</Value></Attribute>") != std::string::npos);
  CHECK(res.body.find("<MessageAttribute><Name>c</Name><Value><StringValue>v</StringValue><DataType>String</DataType></Value></MessageAttribute>") != std::string::npos);
  CHECK(res.body.find("<RequestId>rid</RequestId>") != std::string::npos);

  auto err = serialize_error(m, op, sless::ServiceError("QueueDoesNotExist", "gone"), "rid");
  CHECK(err.status == 400);
  CHECK(err.body.find("<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") != std::string::npos);
  CHECK(err.body.find("<Type>Sender</Type>") != std::string::npos);
}

TEST_CASE("json: SQS errors carry the query code header", "[protocol][json]") {
  const auto& m = model("sqs");
  auto err = serialize_error(m, nullptr, sless::ServiceError("QueueDoesNotExist", "gone"), "rid");
  CHECK(err.headers.get("x-amzn-query-error").value_or("") == "AWS.SimpleQueueService.NonExistentQueue;Sender");
  CHECK(json::parse(err.body)["__type"] == "com.amazonaws.sqs#QueueDoesNotExist");
  auto ddb = serialize_error(model("dynamodb"), nullptr, sless::ServiceError("ResourceNotFoundException", "no"), "r");
  CHECK(json::parse(ddb.body)["__type"] == "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException");
}

TEST_CASE("json: validation messages name nested members like AWS", "[protocol][json]") {
  Request r = rest("POST", "/",
                   R"({"TableName":"","BillingMode":"FREE","KeySchema":[{"AttributeName":"k"}],"AttributeDefinitions":[]})");
  r.headers.add("X-Amz-Target", "DynamoDB_20120810.CreateTable");
  auto p = parse_request(model("dynamodb"), r);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().code == "ValidationException");
  CHECK(p.error().message ==
        "3 validation errors detected: Value '' at 'tableName' failed to satisfy constraint: Member must have "
        "length greater than or equal to 1; Value null at 'keySchema.1.member.keyType' failed to satisfy "
        "constraint: Member must not be null; Value 'FREE' at 'billingMode' failed to satisfy constraint: Member "
        "must satisfy enum value set: [PROVISIONED, PAY_PER_REQUEST]");
}

TEST_CASE("json: validation visits the members a request holds, with the model's results", "[protocol][json]") {
  const auto& m = model("dynamodb");
  auto put = [&](std::string body) {
    Request r = rest("POST", "/", std::move(body));
    r.headers.add("X-Amz-Target", "DynamoDB_20120810.PutItem");
    return parse_request(m, r);
  };
  // Nulls of known members are dropped, unknown members are kept, nested unions are checked.
  auto ok = put(R"({"TableName":"tbl","Item":{"pk":{"S":"a"},"n":{"N":"1"},"l":{"L":[{"BOOL":true},{"NULL":true}]}},)"
                R"("ReturnValues":null,"Unknown":1})");
  REQUIRE(ok.ok());
  CHECK_FALSE(ok.value().params.contains("ReturnValues"));
  CHECK(ok.value().params["Unknown"] == 1);
  CHECK(ok.value().params["Item"]["l"]["L"][1]["NULL"] == true);
  // A type error deep in an item.
  auto bad_type = put(R"({"TableName":"tbl","Item":{"pk":{"S":5}}})");
  REQUIRE_FALSE(bad_type.ok());
  CHECK(bad_type.error().code == "SerializationException");
  // A required member that is missing or null, beside an error the first pass finds first: the
  // messages come in the model's order (TableName before Item's members, Item before
  // ReturnValues), not the request's (alphabetical).
  for (const char* body : {R"({"Item":{"pk":{"S":"a"}},"ReturnValues":"SOME"})",
                           R"({"TableName":null,"Item":{"pk":{"S":"a"}},"ReturnValues":"SOME"})"}) {
    auto missing = put(body);
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.error().message ==
          "2 validation errors detected: Value null at 'tableName' failed to satisfy constraint: Member must "
          "not be null; Value 'SOME' at 'returnValues' failed to satisfy constraint: Member must satisfy enum "
          "value set: [NONE, ALL_OLD, UPDATED_OLD, ALL_NEW, UPDATED_NEW]");
  }
  // Two enum errors with every required member present: the model lists ReturnValues before
  // ReturnConsumedCapacity, the request's object holds them the other way round.
  auto two = put(R"({"TableName":"tbl","Item":{"pk":{"S":"a"}},"ReturnConsumedCapacity":"ALL","ReturnValues":"SOME"})");
  REQUIRE_FALSE(two.ok());
  CHECK(two.error().message.rfind("2 validation errors detected: Value 'SOME' at 'returnValues'", 0) == 0);
  CHECK(two.error().message.find("; Value 'ALL' at 'returnConsumedCapacity'") != std::string::npos);
}

TEST_CASE("json: append_json writes what nlohmann's dump writes", "[protocol][json]") {
  json tree = json::parse(R"({"a":[1,-2,3.5,1e300,true,false,null,"plain"],"b\"q":{"esc":"tab\tnl\n\u0001\"\\",)"
                          R"("utf8":"caf\u00e9 \u20ac \ud83d\ude00","empty":"","nested":{"x":[[],{}]}},"u":18446744073709551615})");
  tree["bad"] = std::string("in\xff\xfevalid");
  std::string out = "prefix:";
  append_json(out, tree);
  CHECK(out == "prefix:" + tree.dump(-1, ' ', false, json::error_handler_t::replace));
}

TEST_CASE("json: timestamps arrive as numbers or text and leave as numbers", "[protocol][json]") {
  Request r = rest("POST", "/", R"({"StreamName":"s","ShardId":"i","ShardIteratorType":"AT_TIMESTAMP","Timestamp":"2025-01-02T03:04:05Z"})");
  r.headers.add("X-Amz-Target", "Kinesis_20131202.GetShardIterator");
  auto p = parse_request(model("kinesis"), r);
  REQUIRE(p.ok());
  CHECK(p.value().params["Timestamp"].get<double>() == Approx(1735787045.0));
}

TEST_CASE("rest-xml: S3 operations told apart by query keys and headers", "[protocol][rest-xml]") {
  CHECK(op_of("s3", rest("GET", "/b")) == "ListObjects");
  CHECK(op_of("s3", rest("GET", "/b?list-type=2&prefix=a")) == "ListObjectsV2");
  CHECK(op_of("s3", rest("GET", "/b?location")) == "GetBucketLocation");
  CHECK(op_of("s3", rest("GET", "/b?versions")) == "ListObjectVersions");
  CHECK(op_of("s3", rest("GET", "/b/some/key.txt")) == "GetObject");
  CHECK(op_of("s3", rest("GET", "/b/k?uploadId=u")) == "ListParts");
  CHECK(op_of("s3", rest("PUT", "/b/k")) == "PutObject");
  CHECK(op_of("s3", rest("PUT", "/b/k?partNumber=1&uploadId=u")) == "UploadPart");
  Request copy = rest("PUT", "/b/k");
  copy.headers.add("x-amz-copy-source", "/a/b");
  CHECK(op_of("s3", copy) == "CopyObject");
  copy.target = "/b/k?partNumber=1&uploadId=u";
  CHECK(op_of("s3", copy) == "UploadPartCopy");
  CHECK(op_of("s3", rest("POST", "/b/k?uploads")) == "CreateMultipartUpload");
  CHECK(op_of("s3", rest("PUT", "/b")) == "CreateBucket");
  CHECK(op_of("s3", rest("PUT", "/b/")) == "CreateBucket");
  CHECK(op_of("s3", rest("HEAD", "/b")) == "HeadBucket");
  CHECK(op_of("s3", rest("DELETE", "/b/k")) == "DeleteObject");
  CHECK(op_of("s3", rest("GET", "/")) == "ListBuckets");
}

TEST_CASE("rest-xml: labels, headers, metadata and XML payloads bind to members", "[protocol][rest-xml]") {
  Request put = rest("PUT", "/b/dir/a%20b.txt", "hello");
  put.headers.add("Content-Type", "text/plain");
  put.headers.add("x-amz-meta-Color", "red");
  put.headers.add("X-AMZ-META-Shape", "Round");  // the prefix in any case; the name lowercased
  put.headers.add("x-amz-meta-", "no name");     // nothing after the prefix: not metadata
  put.headers.add("Expires", "Wed, 01 Jan 2031 00:00:00 GMT");
  auto p = parse_request(model("s3"), put);
  REQUIRE(p.ok());
  const json& params = p.value().params;
  CHECK(params["Bucket"] == "b");
  CHECK(params["Key"] == "dir/a b.txt");
  CHECK(params["ContentType"] == "text/plain");
  CHECK(params["Metadata"]["color"] == "red");
  CHECK(params["Metadata"]["shape"] == "Round");
  CHECK(params["Metadata"].size() == 2);
  CHECK(params["Expires"] == "Wed, 01 Jan 2031 00:00:00 GMT");  // a string in current models
  CHECK_FALSE(params.contains("Body"));

  auto del = parse_request(model("s3"), rest("POST", "/b?delete",
                                              "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                                              "<Object><Key>a</Key></Object><Object><Key>b</Key><VersionId>v</VersionId></Object>"
                                              "<Quiet>true</Quiet></Delete>"));
  REQUIRE(del.ok());
  CHECK(del.value().op->name == "DeleteObjects");
  const json& d = del.value().params["Delete"];
  REQUIRE(d["Objects"].size() == 2);
  CHECK(d["Objects"][1]["VersionId"] == "v");
  CHECK(d["Quiet"] == true);

  auto bad = parse_request(model("s3"), rest("POST", "/b?delete", "<Delete><Object>"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == "MalformedXML");
}

TEST_CASE("rest-xml: results as XML documents and headers, errors as <Error>", "[protocol][rest-xml]") {
  const auto& m = model("s3");
  OperationOutput out(json{{"Name", "b"},
                           {"KeyCount", 1},
                           {"IsTruncated", false},
                           {"Contents", {{{"Key", "k"}, {"Size", 5}, {"LastModified", 1700000000.5}}}},
                           {"CommonPrefixes", {{{"Prefix", "dir/"}}}}});
  out.xml_root = "ListBucketResult";
  auto res = serialize_result(m, *m.find_operation("ListObjectsV2"), std::move(out), "r");
  CHECK(res.body.find("<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">") != std::string::npos);
  CHECK(res.body.find("<Contents><Key>k</Key><LastModified>2023-11-14T22:13:20.500Z</LastModified><Size>5</Size></Contents>") != std::string::npos);
  CHECK(res.body.find("<CommonPrefixes><Prefix>dir/</Prefix></CommonPrefixes>") != std::string::npos);
  CHECK(res.body.find("<IsTruncated>false</IsTruncated>") != std::string::npos);

  OperationOutput head(json{{"ContentLength", 5}, {"ETag", "\"e\""}, {"Metadata", {{"color", "red"}}},
                            {"LastModified", 1700000000}});
  auto h = serialize_result(m, *m.find_operation("HeadObject"), std::move(head), "r");
  CHECK(h.headers.get("Content-Length").value_or("") == "5");
  CHECK(h.headers.get("ETag").value_or("") == "\"e\"");
  CHECK(h.headers.get("x-amz-meta-color").value_or("") == "red");
  CHECK(h.headers.get("Last-Modified").value_or("") == "Tue, 14 Nov 2023 22:13:20 GMT");
  // Header members leave in the output shape's order, whatever the result's order (by name).
  std::vector<std::string> expected;
  for (const auto& mem : m.find_operation("HeadObject")->output->members) {
    if (mem.name == "ContentLength" || mem.name == "ETag" || mem.name == "LastModified") expected.push_back(mem.location_name);
    if (mem.name == "Metadata") expected.push_back("x-amz-meta-color");
  }
  std::vector<std::string> written;
  for (const auto& [name, value] : h.headers.entries()) {
    if (std::find(expected.begin(), expected.end(), name) != expected.end()) written.push_back(name);
  }
  CHECK(written == expected);

  auto err = serialize_error(m, nullptr, sless::ServiceError("NoSuchKey", "The specified key does not exist.", 404).with("Key", "k"), "r");
  CHECK(err.status == 404);
  CHECK(err.body.find("<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>k</Key>") != std::string::npos);
}

TEST_CASE("rest-json: Lambda invoke keeps the payload raw and binds headers", "[protocol][rest-json]") {
  Request inv = rest("POST", "/2015-03-31/functions/my-fn/invocations?Qualifier=live", "{\"a\":1}");
  inv.headers.add("X-Amz-Invocation-Type", "Event");
  inv.headers.add("X-Amz-Log-Type", "Tail");
  auto p = parse_request(model("lambda"), inv);
  REQUIRE(p.ok());
  CHECK(p.value().op->name == "Invoke");
  CHECK(p.value().params["FunctionName"] == "my-fn");
  CHECK(p.value().params["Qualifier"] == "live");
  CHECK(p.value().params["InvocationType"] == "Event");
  CHECK_FALSE(p.value().params.contains("Payload"));

  OperationOutput out(json{{"StatusCode", 200}, {"FunctionError", "Unhandled"}, {"ExecutedVersion", "$LATEST"}});
  out.raw_payload = "{\"errorMessage\":\"x\"}";
  auto res = serialize_result(model("lambda"), *p.value().op, std::move(out), "r");
  CHECK(res.status == 200);
  CHECK(res.headers.get("X-Amz-Function-Error").value_or("") == "Unhandled");
  CHECK(res.body == "{\"errorMessage\":\"x\"}");

  auto err = serialize_error(model("lambda"), nullptr, sless::ServiceError("ResourceNotFoundException", "Function not found", 404), "r");
  CHECK(err.headers.get("x-amzn-ErrorType").value_or("") == "ResourceNotFoundException");
  CHECK(json::parse(err.body)["Type"] == "User");
}

TEST_CASE("rest-json: API Gateway v2 camelCase names map to members both ways", "[protocol][rest-json]") {
  auto p = parse_request(model("apigatewayv2"), rest("POST", "/v2/apis", R"({"name":"shop","protocolType":"HTTP"})"));
  REQUIRE(p.ok());
  CHECK(p.value().op->name == "CreateApi");
  CHECK(p.value().params["Name"] == "shop");
  CHECK(p.value().params["ProtocolType"] == "HTTP");

  const auto& m = model("apigatewayv2");
  auto res = serialize_result(m, *m.find_operation("CreateApi"),
                              OperationOutput(json{{"ApiId", "a1"}, {"Name", "shop"}, {"ApiEndpoint", "http://x"}}), "r");
  CHECK(res.status == 201);
  auto body = json::parse(res.body);
  CHECK(body["apiId"] == "a1");
  CHECK(body["apiEndpoint"] == "http://x");

  auto routes = parse_request(m, rest("GET", "/v2/apis/a1/routes/r9"));
  REQUIRE(routes.ok());
  CHECK(routes.value().op->name == "GetRoute");
  CHECK(routes.value().params["RouteId"] == "r9");
}

namespace {

// A DynamoDB PutItem whose attribute nests `levels` lists deep: {"L":[{"L":[ ... {"S":"x"} ]}]}.
Request nested_put_item(int levels) {
  std::string item = R"({"S":"x"})";
  std::string body = R"({"TableName":"t","Item":{"a":)";
  for (int i = 0; i < levels; ++i) body += R"({"L":[)";
  body += item;
  for (int i = 0; i < levels; ++i) body += "]}";
  body += "}}";
  Request r = rest("POST", "/", std::move(body));
  r.headers.add("X-Amz-Target", "DynamoDB_20120810.PutItem");
  return r;
}

}  // namespace

TEST_CASE("json: bodies nesting deeper than the limit are refused before anything walks them", "[protocol][json]") {
  // Found while writing fuzz_request: 100,000 levels (800 KB) overflowed the stack in validation,
  // and 2,000 levels took seconds and ~100 MB (each level copied the path of the one above).
  auto deep = parse_request(model("dynamodb"), nested_put_item(100000));
  REQUIRE_FALSE(deep.ok());
  CHECK(deep.error().code == "SerializationException");
  CHECK(deep.error().message == "The request body nests deeper than 512 levels");
  CHECK_FALSE(parse_request(model("dynamodb"), nested_put_item(300)).ok());
  // DynamoDB's own limit (32 levels of documents) is well inside.
  auto ok = parse_request(model("dynamodb"), nested_put_item(40));
  CHECK(ok.ok());
  // Brackets inside strings do not count.
  Request r = rest("POST", "/", R"({"TableName":"t","Item":{"a":{"S":")" + std::string(1000, '[') + R"(\"{"}}})");
  r.headers.add("X-Amz-Target", "DynamoDB_20120810.PutItem");
  CHECK(parse_request(model("dynamodb"), r).ok());
  // REST-JSON bodies too.
  std::string deep_json = R"({"name":)" + std::string(1000, '[') + std::string(1000, ']') + "}";
  auto rest_deep = parse_request(model("apigatewayv2"), rest("POST", "/v2/apis", deep_json));
  REQUIRE_FALSE(rest_deep.ok());
  CHECK(rest_deep.error().code == "SerializationException");
}

TEST_CASE("json: integral floats beyond 64 bits are not integers", "[protocol][json]") {
  // Found with a hand-made fuzz_request input: 1e300 was converted to long long (undefined
  // behaviour under UBSan).
  Request big = rest("POST", "/", R"({"TableName":"t","Limit":1e300})");
  big.headers.add("X-Amz-Target", "DynamoDB_20120810.Query");
  auto p = parse_request(model("dynamodb"), big);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().code == "SerializationException");
  Request five = rest("POST", "/", R"({"TableName":"t","Limit":5.0})");
  five.headers.add("X-Amz-Target", "DynamoDB_20120810.Query");
  auto q = parse_request(model("dynamodb"), five);
  REQUIRE(q.ok());
  CHECK(q.value().params["Limit"].is_number_integer());
  CHECK(q.value().params["Limit"] == 5);
}

TEST_CASE("timestamps outside the years 0000-9999 are refused on the way in and clamped on the way out",
          "[protocol][json][rest-xml]") {
  // Found while writing fuzz_request: 1e300 seconds passed validation, and formatting it
  // overflowed in timefmt (INT64_MIN - 999).
  Request r = rest("POST", "/", R"({"StreamName":"s","ShardId":"i","ShardIteratorType":"AT_TIMESTAMP","Timestamp":1e300})");
  r.headers.add("X-Amz-Target", "Kinesis_20131202.GetShardIterator");
  auto p = parse_request(model("kinesis"), r);
  REQUIRE_FALSE(p.ok());
  CHECK(p.error().code == "SerializationException");

  const auto& m = model("s3");
  for (double secs : {1e300, -1e300}) {
    OperationOutput head(json{{"LastModified", secs}});
    auto h = serialize_result(m, *m.find_operation("HeadObject"), std::move(head), "r");
    CHECK(h.headers.get("Last-Modified").value_or("") ==
          (secs > 0 ? "Fri, 31 Dec 9999 23:59:59 GMT" : "Sat, 01 Jan 0000 00:00:00 GMT"));
  }
  CHECK(sless::timefmt::iso8601_ms(INT64_MIN).size() > 0);
}
