// fuzz_request: the request path of the gateway without the network. An input is
//
//   <model byte> METHOD SP TARGET \n (Name: value \n)* \n BODY
//
// The byte picks one of the embedded models (so every codec sees every input); the rest is read
// leniently as an HTTP request. Then, as gateway::Gateway::handle does: resolve(), the S3
// virtual-host rewrite, aws-chunked decoding, parse_request(), and on success serialize_result()
// of the params tree (writers on arbitrary trees) and serialize_error() for one of the
// operation's errors, in the body encoding the request asks for (JSON protocols answer CBOR
// requests in CBOR). Every response body must match its Content-Type.
#include <algorithm>
#include <string>
#include <vector>

#include "core/service_error.h"
#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "gateway/resolve.h"
#include "http/aws_chunked.h"
#include "protocol/codec.h"
#include "protocol/model.h"

namespace {

using namespace sless;

const std::vector<const protocol::ServiceModel*>& models() {
  static const std::vector<const protocol::ServiceModel*> all = [] {
    auto names = protocol::ModelRegistry::instance().names();
    std::sort(names.begin(), names.end());
    std::vector<const protocol::ServiceModel*> out;
    for (const auto& n : names) out.push_back(protocol::ModelRegistry::instance().get(n));
    return out;
  }();
  return all;
}

std::string_view chomp(std::string_view line) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

http::Request read_request(fuzz::Input& in) {
  http::Request r;
  std::string_view line = chomp(in.until('\n'));
  auto sp = line.find(' ');
  r.method = std::string(line.substr(0, sp));
  r.target = sp == std::string_view::npos ? "/" : std::string(line.substr(sp + 1));
  while (!in.empty()) {
    std::string_view h = chomp(in.until('\n'));
    if (h.empty()) break;
    auto colon = h.find(':');
    std::string_view value = colon == std::string_view::npos ? std::string_view() : h.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.add(std::string(h.substr(0, colon)), std::string(value));
  }
  r.body = std::string(in.rest());
  return r;
}

}  // namespace

SLESS_FUZZ_TARGET(request) {
  fuzz::Input in(data, size);
  const auto& all = models();
  const protocol::ServiceModel& model = *all[in.byte() % all.size()];
  http::Request req = read_request(in);
  const bool head = req.method == "HEAD";
  const std::string request_id = "fuzz-request-id";

  gateway::Resolution res = gateway::resolve(req);
  (void)gateway::credential_scope(req);
  if (model.name == "s3" && !res.bucket.empty()) {
    req.target = "/" + res.bucket + (req.target.empty() ? "/" : req.target);
  }
  if (model.protocol == protocol::Protocol::kRestXml || model.protocol == protocol::Protocol::kRestJson) {
    (void)protocol::find_rest_operation(model, req);
  }
  if (http::is_aws_chunked(req.headers)) {
    http::AwsChunkedDecoder decoder;
    std::string payload;
    if (!decoder.feed(req.body, payload) || !decoder.done()) {
      ServiceError e("IncompleteBody", "The request body is not valid aws-chunked encoding: " + decoder.error());
      fuzz::check_response(protocol::serialize_error(model, nullptr, e, request_id, head));
      return 0;
    }
    req.body = std::move(payload);
    for (const auto& [k, v] : decoder.trailers().entries()) req.headers.add(k, v);
    http::strip_aws_chunked_encoding(req.headers);
  }

  const protocol::BodyEncoding encoding = protocol::body_encoding(model, req);
  auto parsed = protocol::parse_request(model, req);
  if (!parsed.ok()) {
    const ServiceError& e = parsed.error();
    FUZZ_CHECK(!e.code.empty());
    fuzz::check_response(protocol::serialize_error(model, nullptr, e, request_id, head, encoding));
    return 0;
  }
  const protocol::Operation* op = parsed.value().op;
  FUZZ_CHECK(op != nullptr);
  FUZZ_CHECK(parsed.value().params.is_object());

  // An error the operation declares (its model code and status), with a message from the input.
  ServiceError error = ServiceError::internal("internal error");
  if (!op->errors.empty()) {
    const protocol::Shape* shape = op->errors[req.body.size() % op->errors.size()];
    error = ServiceError(shape->name, req.target, shape->error_status ? shape->error_status : 400,
                         shape->error_sender_fault);
  }
  fuzz::check_response(protocol::serialize_error(model, op, error, request_id, head, encoding));
  fuzz::check_response(protocol::serialize_result(
      model, *op, protocol::OperationOutput(std::move(parsed.value().params)), request_id, encoding));
  return 0;
}
