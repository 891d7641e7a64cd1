#include <catch2/catch.hpp>

#include "core/encoding.h"
#include "services/sqs/message.h"

using namespace sless::services::sqs;
using nlohmann::json;

TEST_CASE("MD5OfMessageAttributes follows AWS's algorithm", "[sqs]") {
  // The digest boto3 accepted for these attributes (it verifies them against its own).
  json attrs = {{"a", {{"DataType", "String"}, {"StringValue", "x"}}},
                {"n", {{"DataType", "Number"}, {"StringValue", "12"}}},
                {"b", {{"DataType", "Binary"}, {"BinaryValue", sless::enc::base64_encode("\x01\x02")}}}};
  CHECK(md5_of_attributes(attrs) == "86cbebfa7c04a8347ffbb43099883456");
  CHECK(md5_of_attributes(json::object()).empty());
  CHECK(md5_hex("hello") == "5d41402abc4b2a76b9719d911017c592");
}

TEST_CASE("message records round-trip", "[sqs]") {
  Message m;
  m.seq = 42;
  m.id = "id-1";
  m.body = std::string("bo\0dy", 5);
  m.md5_body = md5_hex(m.body);
  m.attributes = {{"k", {{"DataType", "String"}, {"StringValue", "v"}}}};
  m.group_id = "g";
  m.visible_at_ms = 123;
  m.receive_count = 3;
  m.receipt_nonce = 99;
  Message back;
  REQUIRE(decode_message(encode_message(m), &back));
  CHECK(back.body == m.body);
  CHECK(back.attributes == m.attributes);
  CHECK(back.receive_count == 3);
  CHECK(back.receipt_nonce == 99);
  CHECK(back.group_id == "g");
  CHECK_FALSE(decode_message("garbage", &back));
}

TEST_CASE("receipt handles carry queue, message and receive", "[sqs]") {
  auto r = parse_receipt(make_receipt(7, 8, 9));
  REQUIRE(r);
  CHECK((r->queue_id == 7 && r->seq == 8 && r->nonce == 9));
  CHECK_FALSE(parse_receipt("not a receipt"));
  std::string h = make_receipt(1, 2, 3);
  h[3] = h[3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(parse_receipt(h));
}

TEST_CASE("message characters and attributes are validated", "[sqs]") {
  CHECK(valid_message_chars("tab\tnew\nline ✓ \xF0\x9F\x98\x80"));
  CHECK_FALSE(valid_message_chars(std::string("a\x01", 2)));
  CHECK_FALSE(valid_message_chars("\xEF\xBF\xBF"));  // U+FFFF
  CHECK_FALSE(valid_message_chars("\xC3"));          // truncated UTF-8
  // Every byte value at every position of bodies of 0..40 bytes, against the rule byte by byte
  // (the check reads eight bytes at a time): tab, LF, CR and 0x20..0x7F pass, other controls fail,
  // and a lone high byte is invalid UTF-8.
  for (size_t len = 1; len <= 40; ++len) {
    for (size_t pos = 0; pos < len; ++pos) {
      for (int b = 0; b < 256; ++b) {
        std::string text(len, 'a');
        text[pos] = static_cast<char>(b);
        bool expected = b == 0x9 || b == 0xA || b == 0xD || (b >= 0x20 && b < 0x80);
        INFO("length " << len << ", byte " << b << " at " << pos);
        REQUIRE(valid_message_chars(text) == expected);
      }
    }
  }
  CHECK(valid_message_chars(std::string(37, 'x') + "\xC3\xA9"));                // é after the words
  CHECK(valid_message_chars("\xC3\xA9" + std::string(37, 'x')));                // é before them
  CHECK_FALSE(valid_message_chars("\xC3\xA9" + std::string(20, 'x') + "\x1F"));  // a control after it
  CHECK(validate_attributes(json{{"n", {{"DataType", "Number.int"}, {"StringValue", "-1.5E3"}}}}, false).ok());
  CHECK_FALSE(validate_attributes(json{{"n", {{"DataType", "Number"}, {"StringValue", "1x"}}}}, false).ok());
  CHECK_FALSE(validate_attributes(json{{"AWS.x", {{"DataType", "String"}, {"StringValue", "v"}}}}, false).ok());
  CHECK_FALSE(validate_attributes(json{{"a..b", {{"DataType", "String"}, {"StringValue", "v"}}}}, false).ok());
  CHECK_FALSE(validate_attributes(json{{"k", {{"DataType", "Blob"}, {"StringValue", "v"}}}}, false).ok());
  json eleven = json::object();
  for (int i = 0; i < 11; ++i) eleven["k" + std::to_string(i)] = {{"DataType", "String"}, {"StringValue", "v"}};
  CHECK_FALSE(validate_attributes(eleven, false).ok());
  auto size = validate_attributes(json{{"ab", {{"DataType", "String"}, {"StringValue", "xyz"}}}}, false);
  REQUIRE(size.ok());
  CHECK(size.value() == 2 + 6 + 3);
}
