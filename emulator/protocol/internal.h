// Helpers shared by the protocol codecs (not part of the protocol API).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "http/message.h"
#include "protocol/codec.h"
#include "protocol/model.h"

namespace sless::protocol::detail {

enum class TimestampFormat { kIso8601, kRfc822, kEpochSeconds };

// The format a timestamp member uses: its own trait, its shape's, else the location's default.
TimestampFormat timestamp_format(const Shape& shape, const Member* ref, TimestampFormat fallback);
std::string format_timestamp(double epoch_seconds, TimestampFormat format);

// Converts wire text (query string, header, XML text) to a params-tree scalar of `shape`'s type.
// nullopt when the text is not a valid value of that type.
std::optional<nlohmann::json> scalar_from_text(const Shape& shape, std::string_view text);

// Client JSON nests at most this deep. Validation, serialization and providers walk trees
// recursively, so an unbounded depth would let one request exhaust a thread's stack.
constexpr int kMaxJsonDepth = 512;

// Parses client JSON (a body, a jsonvalue header): a discarded value when it is malformed or
// nests deeper than kMaxJsonDepth (then *too_deep is set).
nlohmann::json parse_client_json(std::string_view text, bool* too_deep);
// The SerializationException for a body that did not parse.
ServiceError json_body_error(bool too_deep);

// Per-protocol entry points behind codec.h.
Outcome<ParsedRequest> parse_json(const ServiceModel& m, const http::Request& r);
Outcome<ParsedRequest> parse_query(const ServiceModel& m, const http::Request& r);
Outcome<ParsedRequest> parse_rest(const ServiceModel& m, const http::Request& r);

http::Response serialize_json_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                     BodyEncoding encoding);
http::Response serialize_query_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                      std::string_view request_id);
http::Response serialize_rest_result(const ServiceModel& m, const Operation& op, OperationOutput&& out);

http::Response serialize_json_error(const ServiceModel& m, const ServiceError& e, BodyEncoding encoding);
http::Response serialize_query_error(const ServiceModel& m, const ServiceError& e, std::string_view request_id);
http::Response serialize_rest_json_error(const ServiceModel& m, const ServiceError& e);
http::Response serialize_rest_xml_error(const ServiceModel& m, const ServiceError& e, std::string_view request_id);

// Finds the operation of a REST request by method, path and query (most specific match wins),
// binding URI labels into `labels` (decoded). nullptr when nothing matches.
const Operation* route_rest(const ServiceModel& m, const http::Request& r,
                            std::vector<std::pair<std::string, std::string>>* labels);

// The wire error code for an error: the model's code for its shape when it has one (SQS's
// "AWS.SimpleQueueService.NonExistentQueue"), else the shape name itself.
std::string wire_error_code(const ServiceModel& m, const ServiceError& e);

}  // namespace sless::protocol::detail
