// The protocol codecs: one generic parser and serializer per AWS wire protocol, driven by the
// service model. A request becomes an operation and a params tree; an operation's result tree
// (or a ServiceError) becomes the wire response. Stateless: any thread may call these.
//
//   http::Request ──parse_request──▶ ParsedRequest{op, params}  ──▶ service
//                                                                      │
//   http::Response ◀──serialize_result / serialize_error── OperationOutput / ServiceError
//
// The params tree (nlohmann::json) is the same whatever the protocol:
//   structure → object keyed by member name, list → array, map → object,
//   string → string, integer/long → integer, float/double → number, boolean → bool,
//   timestamp → number of seconds since the epoch (fractional), blob → base64 text.
// A blob or streaming payload member (S3 PutObject Body, Lambda Invoke Payload) is not in the
// tree: the raw body stays in the request for the service to read.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "http/message.h"
#include "protocol/model.h"

namespace sless::protocol {

struct ParsedRequest {
  const Operation* op = nullptr;
  nlohmann::json params = nlohmann::json::object();
};

// What a service hands back for a successful operation.
struct OperationOutput {
  nlohmann::json result = nlohmann::json::object();
  // The body for an output payload member of blob type, sent raw (Lambda Invoke Payload). For
  // the JSON protocols (which have no payload members) the whole JSON body, already serialized;
  // `result` is then ignored.
  std::optional<std::string> raw_payload;
  // A streamed body for an output payload member (S3 GetObject Body).
  std::shared_ptr<http::BodySource> payload_source;
  // REST-XML: the root element name when the model does not give it (S3's ListBucketResult).
  std::string xml_root;
  // Extra response headers beyond those the model maps (S3 Content-Range on 206, ...).
  std::vector<std::pair<std::string, std::string>> headers;
  // Overrides the model's status code (S3 206 Partial Content, 304, ...); 0 keeps it.
  int status = 0;

  OperationOutput() = default;
  OperationOutput(nlohmann::json r) : result(std::move(r)) {}  // NOLINT(google-explicit-constructor)
};

// The body encoding of a JSON-protocol exchange: JSON, or CBOR when the request says
// `Content-Type: application/x-amz-cbor-1.1` (Kinesis clients such as the AWS SDK for Java); the
// answer, errors included, then goes back in CBOR too. Other protocols are always kNative.
enum class BodyEncoding { kNative, kCbor };
BodyEncoding body_encoding(const ServiceModel& model, const http::Request& request);

// Parses a request for `model`: finds the operation (X-Amz-Target, Action, or the REST route),
// builds and validates the params tree. Errors come back in the service's style
// (UnknownOperationException, ValidationException, MissingParameter, ...).
Outcome<ParsedRequest> parse_request(const ServiceModel& model, const http::Request& request);

// The operation a REST request is for, from its head alone (method, path, query, headers), or
// nullptr. Lets the gateway decide whether to stream a body before reading it.
const Operation* find_rest_operation(const ServiceModel& model, const http::Request& request);

// Renders a successful result.
http::Response serialize_result(const ServiceModel& model, const Operation& op, OperationOutput&& out,
                                std::string_view request_id, BodyEncoding encoding = BodyEncoding::kNative);

// Renders an error in the protocol's shape. `op` may be null (unknown operation). `head` drops
// the body, as HTTP HEAD responses carry none.
http::Response serialize_error(const ServiceModel& model, const Operation* op, const ServiceError& error,
                               std::string_view request_id, bool head = false,
                               BodyEncoding encoding = BodyEncoding::kNative);

// Validates a params tree against a shape (required members, types, lengths, ranges, enums) and
// normalizes it in place (timestamps to epoch seconds). Returns the error in `service`'s style.
// `raw_payload_member` names a top-level blob payload member that is present as the raw body
// rather than in the tree (its required check is skipped).
std::optional<ServiceError> validate(const ServiceModel& model, const Shape& shape, nlohmann::json& params,
                                     std::string_view raw_payload_member = {});

// The JSON text of `j`, byte for byte what nlohmann's dump() writes (compact, UTF-8 kept, invalid
// UTF-8 replaced, never throws), but strings that need no escaping are copied whole.
void append_json(std::string& out, const nlohmann::json& j);
std::string dump(const nlohmann::json& j);
// One JSON string as append_json writes it (quoted, escaped as nlohmann escapes).
void append_json_string(std::string& out, std::string_view s);

}  // namespace sless::protocol
