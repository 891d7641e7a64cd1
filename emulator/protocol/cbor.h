// CBOR bodies for the JSON protocols (`application/x-amz-cbor-1.1`, which Kinesis clients such as
// the AWS SDK for Java send by default): decode a request body into the same params tree the
// JSON codec builds, and encode a result tree back. Pure functions on libcbor; any thread.
//
//   CBOR                         params tree
//   map (text keys)         ◀──▶ object
//   array                   ◀──▶ array
//   text string             ◀──▶ string
//   byte string             ◀──▶ base64 text (blob members)
//   tag 1 + epoch millis    ◀──▶ epoch seconds (timestamp members; AWS's CBOR uses milliseconds)
//   int / float / bool / null ◀──▶ the same
//
// Decoding needs no model (byte strings and tag 1 say what they are); encoding follows the
// output shape so that blobs leave as byte strings and timestamps as tag 1.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"
#include "protocol/model.h"

namespace sless::protocol::cbor {

inline constexpr std::string_view kContentType = "application/x-amz-cbor-1.1";

// Nesting deeper than this is refused (SerializationException) rather than recursed into.
inline constexpr size_t kMaxDepth = 64;

// Decodes one CBOR data item that spans the whole body. Malformed, truncated or trailing input,
// non-text map keys and over-deep nesting answer SerializationException.
Outcome<nlohmann::json> decode(std::string_view body);

// Encodes a tree as CBOR, guided by `shape` where it is known (nullptr: by JSON type alone).
std::string encode(const nlohmann::json& tree, const Shape* shape);

}  // namespace sless::protocol::cbor
