// Tumbling windows of stream event source mappings: alignment, the windowed event's shape, the
// state in a function's answer, and the durable form of an open window.
#include <catch2/catch.hpp>

#include <string>

#include "services/lambda/windows.h"

using namespace sless::services::lambda::windows;
using nlohmann::json;

TEST_CASE("windows start at multiples of their length", "[lambda]") {
  // 2020-12-09T07:05:12.345Z in a 120 s window: 07:04:00 to 07:06:00.
  Window w = window_of(1607497512345, 120);
  CHECK(w.start_ms == 1607497440000);
  CHECK(w.end_ms == 1607497560000);
  // The start belongs to the window, the end to the next one.
  CHECK(window_of(1607497440000, 120) == w);
  CHECK(window_of(1607497559999, 120) == w);
  CHECK(window_of(1607497560000, 120).start_ms == 1607497560000);
  CHECK(window_of(1999, 1) == Window{1000, 2000});
  CHECK(window_of(-1, 1) == Window{-1000, 0});
}

TEST_CASE("a windowed event carries the window, its state and the shard", "[lambda]") {
  OpenWindow open{window_of(1607497512345, 120), json{{"sum", 3}}, false};
  json records = json::array({json{{"eventID", "1"}}});
  json e = event(records, Call{&open, "shardId-000000000006", "arn:aws:kinesis:us-east-1:000000000000:stream/s", false});
  CHECK(e["Records"] == records);
  CHECK(e["window"] == json{{"start", "2020-12-09T07:04:00Z"}, {"end", "2020-12-09T07:06:00Z"}});
  CHECK(e["state"] == json{{"sum", 3}});
  CHECK(e["shardId"] == "shardId-000000000006");
  CHECK(e["eventSourceARN"] == "arn:aws:kinesis:us-east-1:000000000000:stream/s");
  CHECK(e["isFinalInvokeForWindow"] == false);
  CHECK(e["isWindowTerminatedEarly"] == false);
  CHECK(e.size() == 7);

  json final_event = event(json::array(), Call{&open, "shardId-000000000006", "arn", true});
  CHECK(final_event["Records"] == json::array());
  CHECK(final_event["isFinalInvokeForWindow"] == true);
  CHECK(final_event["isWindowTerminatedEarly"] == false);
  open.terminated_early = true;
  CHECK(event(json::array(), Call{&open, "s", "arn", true})["isWindowTerminatedEarly"] == true);
}

TEST_CASE("the function answers the window's next state", "[lambda]") {
  CHECK(answered_state(R"({"state": {"1": 282, "2": 715}, "batchItemFailures": []})") == json{{"1", 282}, {"2", 715}});
  CHECK(answered_state(R"({"state": {}})") == json::object());
  // Lambda counts an answer without a state as a failed invocation.
  CHECK_FALSE(answered_state(R"({"batchItemFailures": []})"));
  CHECK_FALSE(answered_state(R"({"state": 3})"));
  CHECK_FALSE(answered_state("null"));
  CHECK_FALSE(answered_state("not json"));
}

TEST_CASE("a state over 1 MB ends its window early", "[lambda]") {
  CHECK_FALSE(too_large(json{{"k", std::string(1000, 'x')}}));
  CHECK(too_large(json{{"k", std::string(kMaxStateBytes, 'x')}}));
}

TEST_CASE("an open window round-trips through its durable form", "[lambda]") {
  OpenWindow w{Window{1000, 3000}, json{{"sum", 7}, {"keys", {"a", "b"}}}, true};
  auto back = decode(encode(w));
  REQUIRE(back);
  CHECK(back->window == w.window);
  CHECK(back->state == w.state);
  CHECK(back->terminated_early);
  CHECK_FALSE(decode("{}"));
  CHECK_FALSE(decode("garbage"));
}
