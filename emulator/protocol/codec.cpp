#include "protocol/codec.h"

#include "core/encoding.h"
#include "protocol/internal.h"

namespace sless::protocol {

BodyEncoding body_encoding(const ServiceModel& m, const http::Request& r) {
  if (m.protocol != Protocol::kJson) return BodyEncoding::kNative;
  constexpr std::string_view kCborPrefix = "application/x-amz-cbor";  // any version, any parameters
  std::string_view type = r.headers.get_or("content-type", "");
  return enc::iequals(type.substr(0, kCborPrefix.size()), kCborPrefix) ? BodyEncoding::kCbor : BodyEncoding::kNative;
}

Outcome<ParsedRequest> parse_request(const ServiceModel& m, const http::Request& r) {
  switch (m.protocol) {
    case Protocol::kJson: return detail::parse_json(m, r);
    case Protocol::kQuery: return detail::parse_query(m, r);
    case Protocol::kRestJson:
    case Protocol::kRestXml: return detail::parse_rest(m, r);
  }
  return ServiceError::internal("unknown protocol");
}

const Operation* find_rest_operation(const ServiceModel& m, const http::Request& r) {
  return detail::route_rest(m, r, nullptr);
}

http::Response serialize_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                std::string_view request_id, BodyEncoding encoding) {
  switch (m.protocol) {
    case Protocol::kJson: return detail::serialize_json_result(m, op, std::move(out), encoding);
    case Protocol::kQuery: return detail::serialize_query_result(m, op, std::move(out), request_id);
    case Protocol::kRestJson:
    case Protocol::kRestXml: return detail::serialize_rest_result(m, op, std::move(out));
  }
  return {};
}

http::Response serialize_error(const ServiceModel& m, const Operation* op, const ServiceError& e,
                               std::string_view request_id, bool head, BodyEncoding encoding) {
  http::Response res;
  switch (m.protocol) {
    case Protocol::kJson: res = detail::serialize_json_error(m, e, encoding); break;
    case Protocol::kQuery: res = detail::serialize_query_error(m, e, request_id); break;
    case Protocol::kRestJson: res = detail::serialize_rest_json_error(m, e); break;
    case Protocol::kRestXml: res = detail::serialize_rest_xml_error(m, e, request_id); break;
  }
  if (head) res.body.clear();
  return res;
}

namespace detail {

std::string wire_error_code(const ServiceModel& m, const ServiceError& e) {
  if (const Shape* s = m.find_shape(e.code); s && s->exception && !s->error_code.empty()) {
    return s->error_code;
  }
  return e.code;
}

}  // namespace detail
}  // namespace sless::protocol
