// SQS messages: the record kept per message (in memory and, encoded, in RocksDB), the AWS
// MD5 digests of bodies and attributes, and the validation of what clients send. Pure
// functions and plain data; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "core/service_error.h"

namespace sless::services::sqs {

// AWS raised the SQS payload limit from 256 KiB to 1 MiB in 2025; new queues default to it.
inline constexpr int64_t kMaxMessageSize = 1048576;
inline constexpr int64_t kMinMessageSize = 1024;
inline constexpr int kMaxMessageAttributes = 10;
inline constexpr int64_t kDedupWindowMs = 5 * 60 * 1000;

struct Message {
  uint64_t seq = 0;            // order of arrival in the queue (global, unique)
  std::string id;              // MessageId
  std::string body;
  std::string md5_body;        // hex
  nlohmann::json attributes;   // MessageAttributes as the params tree has them, or null
  std::string md5_attributes;  // hex, empty without attributes
  std::string trace_header;    // AWSTraceHeader system attribute
  std::string md5_system;      // hex of the system attributes, empty without them
  std::string sender_id;
  int64_t sent_ms = 0;
  std::string group_id;
  std::string dedup_id;
  std::string sequence_number;  // FIFO only
  std::string dlq_source_arn;   // set when redriven into a dead-letter queue
  // Mutable state.
  int64_t visible_at_ms = 0;
  int32_t receive_count = 0;
  int64_t first_receive_ms = 0;
  uint64_t receipt_nonce = 0;  // the latest receipt handle's nonce; 0 before the first receive
  // Not stored, rebuilt at start: the receive journal record that holds the latest state (0:
  // the state the message record was written with), and whether a state record of the older
  // layout ("s" key) exists, which a delete must then remove too.
  uint64_t journal = 0;
  bool state_apart = false;

  bool in_flight(int64_t now) const { return receive_count > 0 && visible_at_ms > now; }
  bool delayed(int64_t now) const { return receive_count == 0 && visible_at_ms > now; }
};

// The whole record (the immutable part followed by the state it was written with), and the
// small mutable part alone (visibility, receive count, receipt), which receives and visibility
// changes write to the queue's journal (see Queue::put_states) so that they never rewrite a body.
std::string encode_message(const Message& m);
std::string encode_state(const Message& m);
bool decode_message(std::string_view in, Message* m);
bool decode_state(std::string_view in, Message* m);

// Hex MD5 of a body.
std::string md5_hex(std::string_view data);
// AWS's MD5OfMessageAttributes: names sorted; per attribute the length-prefixed (4 bytes,
// big-endian) UTF-8 name and data type, a transport byte (1 string/number, 2 binary) and the
// length-prefixed value. `attributes` is the params tree map (binary values in base64).
std::string md5_of_attributes(const nlohmann::json& attributes);

// Validates a MessageAttributes (or MessageSystemAttributes) map: names, data types, values.
// Returns the attributes' byte size (names + types + values) on success.
Outcome<int64_t> validate_attributes(const nlohmann::json& attributes, bool system);
// Characters SQS accepts in bodies and string values: #x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD
// #x10000-#x10FFFF (and well-formed UTF-8).
bool valid_message_chars(std::string_view text);

// Receipt handles name the queue, the message and the receive they came from.
std::string make_receipt(uint64_t queue_id, uint64_t seq, uint64_t nonce);
struct Receipt {
  uint64_t queue_id = 0;
  uint64_t seq = 0;
  uint64_t nonce = 0;
};
std::optional<Receipt> parse_receipt(std::string_view handle);

}  // namespace sless::services::sqs
