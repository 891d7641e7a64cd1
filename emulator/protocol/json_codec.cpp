// JSON 1.0 / 1.1 (DynamoDB, SQS, Kinesis, Step Functions, EventBridge, Cognito, KMS, Logs).
//
//   POST /  X-Amz-Target: <targetPrefix>.<Operation>   Content-Type: application/x-amz-json-1.x
//   body: the input structure as JSON           ──▶  params (validated, timestamps normalized)
//   result tree ──▶ body as JSON                        error ──▶ {"__type": "...#Code", "message"}
//
// The wire JSON already is the params tree (members by name, blobs base64, timestamps epoch
// seconds), so parsing is one JSON parse plus validation, and serializing is one dump.
// A body sent as application/x-amz-cbor-1.1 is decoded into the same tree (protocol/cbor.h) and
// answered in CBOR.
#include "core/encoding.h"
#include "core/json_parse.h"
#include "protocol/cbor.h"
#include "protocol/internal.h"

namespace sless::protocol::detail {

using nlohmann::json;

namespace {

std::string content_type(const ServiceModel& m) {
  return "application/x-amz-json-" + (m.json_version.empty() ? std::string("1.0") : m.json_version);
}

std::string error_namespace(const ServiceModel& m, std::string_view code) {
  if (code == "ValidationException") return "com.amazon.coral.validate#";
  if (code == "SerializationException" || code == "UnknownOperationException" ||
      code == "InternalFailure" || code == "NotImplemented") {
    return "com.amazon.coral.service#";
  }
  if (m.name == "dynamodb" || m.name == "dynamodbstreams") {
    return "com.amazonaws." + m.name + ".v" + [&] {
      std::string v;
      for (char c : m.api_version) if (c != '-') v.push_back(c);
      return v;
    }() + "#";
  }
  return "com.amazonaws." + m.endpoint_prefix + "#";
}

}  // namespace

Outcome<ParsedRequest> parse_json(const ServiceModel& m, const http::Request& r) {
  std::string_view target = r.headers.get_or("x-amz-target", "");
  auto dot = target.rfind('.');
  std::string_view prefix = dot == std::string_view::npos ? std::string_view() : target.substr(0, dot);
  std::string_view op_name = dot == std::string_view::npos ? target : target.substr(dot + 1);
  const Operation* op = prefix == m.target_prefix ? m.find_operation(op_name) : nullptr;
  if (!op) {
    return ServiceError("UnknownOperationException",
                        target.empty() ? "Missing X-Amz-Target header"
                                       : "Unknown operation " + std::string(target));
  }
  ParsedRequest out;
  out.op = op;
  std::string_view body = r.body;
  while (!body.empty() && (body.front() == ' ' || body.front() == '\n' || body.front() == '\r' || body.front() == '\t')) {
    body.remove_prefix(1);
  }
  if (!body.empty() && body_encoding(m, r) == BodyEncoding::kCbor) {
    auto decoded = cbor::decode(r.body);
    if (!decoded.ok()) return std::move(decoded).error();
    out.params = std::move(decoded).value();
    if (!out.params.is_object()) {
      return ServiceError("SerializationException", "Start of structure or map found where not expected");
    }
  } else if (!body.empty()) {
    bool too_deep = false;
    out.params = parse_client_json(body, &too_deep);
    if (out.params.is_discarded()) {
      return json_body_error(too_deep);
    }
    if (!out.params.is_object()) {
      return ServiceError("SerializationException", "Start of structure or map found where not expected");
    }
  }
  if (op->input) {
    if (auto err = validate(m, *op->input, out.params)) return std::move(*err);
  }
  return out;
}

json parse_client_json(std::string_view text, bool* too_deep) {
  return json_text::parse(text, kMaxJsonDepth, too_deep);
}

ServiceError json_body_error(bool too_deep) {
  return ServiceError("SerializationException",
                      too_deep ? "The request body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels"
                               : std::string("Could not parse the request body as JSON"));
}

http::Response serialize_json_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                     BodyEncoding encoding) {
  http::Response res;
  res.status = out.status ? out.status : 200;
  if (encoding == BodyEncoding::kCbor) {
    res.headers.add("Content-Type", std::string(cbor::kContentType));
    res.body = cbor::encode(out.result.is_object() ? out.result : json::object(), op.output);
  } else if (out.raw_payload) {
    // A JSON-protocol operation has no payload member, so a raw payload is the whole body,
    // already serialized by the service (DynamoDB returns stored items without re-encoding them).
    res.headers.add("Content-Type", content_type(m));
    res.body = std::move(*out.raw_payload);
  } else {
    res.headers.add("Content-Type", content_type(m));
    res.body = out.result.is_object() ? dump(out.result) : std::string("{}");
  }
  for (auto& [k, v] : out.headers) res.headers.add(std::move(k), std::move(v));
  return res;
}

http::Response serialize_json_error(const ServiceModel& m, const ServiceError& e, BodyEncoding encoding) {
  http::Response res;
  res.status = e.http_status;
  json body = e.fields.is_object() ? e.fields : json::object();
  body["__type"] = error_namespace(m, e.code) + e.code;
  body["message"] = e.message;
  if (encoding == BodyEncoding::kCbor) {
    res.headers.add("Content-Type", std::string(cbor::kContentType));
    res.body = cbor::encode(body, m.find_shape(e.code));
  } else {
    res.headers.add("Content-Type", content_type(m));
    res.body = dump(body);
  }
  if (m.aws_query_compatible) {
    res.headers.add("x-amzn-query-error", wire_error_code(m, e) + (e.sender_fault ? ";Sender" : ";Receiver"));
  }
  for (const auto& [k, v] : e.headers) res.headers.add(k, v);
  return res;
}

}  // namespace sless::protocol::detail
