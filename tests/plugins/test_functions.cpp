// Functions the integration tests run: each handler exercises one behaviour of the host.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <thread>
#include <vector>

#include <sless/function.hpp>

#ifndef SLESS_TEST_VARIANT
#define SLESS_TEST_VARIANT 1
#endif

using nlohmann::json;
using sless::invocation_request;
using sless::invocation_response;

namespace {

json parse(const invocation_request& req) {
  json j = json::parse(req.payload, nullptr, false);
  return j.is_discarded() ? json::object() : j;
}

// Returns the event and the invocation's context.
invocation_response echo(const invocation_request& req) {
  json out{{"event", parse(req)},
           {"request_id", req.request_id},
           {"function_arn", req.function_arn},
           {"function_name", req.function_name},
           {"version", req.function_version},
           {"memory", req.memory_limit_mb},
           {"remaining_ms", req.get_time_remaining().count()},
           {"log_group", req.log_group_name},
           {"log_stream", req.log_stream_name},
           {"pid", getpid()},
           {"variant", SLESS_TEST_VARIANT}};
  return invocation_response::success(out.dump());
}

// Prints the event to the log (for tests that read what a function received).
invocation_response record(const invocation_request& req) {
  std::printf("EVENT %s\n", req.payload.c_str());
  return invocation_response::success("{}");
}

// Reports environment variables named in the event's "names".
invocation_response env(const invocation_request& req) {
  json out = json::object();
  for (const auto& n : parse(req).value("names", json::array())) {
    const char* v = std::getenv(n.get<std::string>().c_str());
    out[n.get<std::string>()] = v ? json(v) : json(nullptr);
  }
  return invocation_response::success(out.dump());
}

// Writes to stdout, stderr and the SDK log.
invocation_response logs(const invocation_request& req) {
  std::printf("to stdout %s\n", req.request_id.c_str());
  std::fprintf(stderr, "to stderr\n");
  sless::log("through the sdk");
  return invocation_response::success("{}");
}

invocation_response fail(const invocation_request&) {
  return invocation_response::failure("the order is invalid", "InvalidOrder");
}

invocation_response throws(const invocation_request&) { throw std::runtime_error("something broke"); }

invocation_response crash(const invocation_request&) {
  volatile int* p = nullptr;
  *p = 1;
  return invocation_response::success("{}");
}

invocation_response abort_now(const invocation_request&) { std::abort(); }

invocation_response sleep_forever(const invocation_request&) {
  for (;;) std::this_thread::sleep_for(std::chrono::seconds(1));
}

// Sleeps for the event's "ms", then answers.
invocation_response sleep_ms(const invocation_request& req) {
  std::this_thread::sleep_for(std::chrono::milliseconds(parse(req).value("ms", 100)));
  return invocation_response::success(json{{"slept", true}, {"pid", getpid()}}.dump());
}

invocation_response allocate_forever(const invocation_request&) {
  std::vector<std::vector<char>> hog;
  for (;;) {
    hog.emplace_back(16 * 1024 * 1024, 'x');  // touched, so that it is really used
  }
}

// Calls a service in-process: {"service": "...", "operation": "...", "request": {...}}.
invocation_response call(const invocation_request& req) {
  json event = parse(req);
  auto out = sless::service_client(event.value("service", "")).call(event.value("operation", ""),
                                                                    event.value("request", json::object()));
  json answer{{"ok", out.ok}, {"result", out.result}};
  if (!out.ok) {
    answer["code"] = out.error_code;
    answer["message"] = out.error_message;
  }
  return invocation_response::success(answer.dump());
}

// Fails on the first `fail_times` attempts of an event id, counted in a file under COUNTER_DIR
// (the test's own temporary directory; /tmp when unset).
invocation_response flaky(const invocation_request& req) {
  json event = parse(req);
  const char* dir = std::getenv("COUNTER_DIR");
  std::string path = std::string(dir ? dir : "/tmp") + "/sless-flaky-" + event.value("id", std::string("x"));
  int n = 0;
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(f, "%d", &n) != 1) n = 0;
    std::fclose(f);
  }
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "%d", n + 1);
    std::fclose(f);
  }
  if (n < event.value("fail_times", 0)) return invocation_response::failure("attempt " + std::to_string(n + 1), "Flaky");
  return invocation_response::success(json{{"attempts", n + 1}}.dump());
}

// Sends the whole event to the queue in SINK_QUEUE_URL (tests read what a trigger delivered), with
// the worker's pid as message attribute "pid", after FORWARD_DELAY_MS if set; and reports the
// records that mention "FAIL" as batch item failures (SQS message ids, Kinesis and DynamoDB
// Streams sequence numbers).
// Sends the event to the queue in SINK_QUEUE_URL, if set; false (with the error) when that failed.
bool to_sink(const invocation_request& req, invocation_response* error) {
  const char* url = std::getenv("SINK_QUEUE_URL");
  if (!url) return true;
  json attributes{{"pid", {{"DataType", "Number"}, {"StringValue", std::to_string(getpid())}}}};
  auto out = sless::sqs().call("SendMessage",
                               {{"QueueUrl", url}, {"MessageBody", req.payload}, {"MessageAttributes", attributes}});
  if (!out.ok) *error = invocation_response::failure(out.error_message, out.error_code);
  return out.ok;
}

invocation_response forward(const invocation_request& req) {
  json event = parse(req);
  if (const char* delay = std::getenv("FORWARD_DELAY_MS")) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(delay)));
  }
  invocation_response error = invocation_response::success("{}");
  if (!to_sink(req, &error)) return error;
  json failures = json::array();
  for (const auto& r : event.value("Records", json::array())) {
    if (r.dump().find("FAIL") == std::string::npos) continue;
    if (r.contains("messageId")) failures.push_back({{"itemIdentifier", r["messageId"]}});
    if (r.contains("kinesis")) failures.push_back({{"itemIdentifier", r["kinesis"]["sequenceNumber"]}});
    if (r.contains("dynamodb")) failures.push_back({{"itemIdentifier", r["dynamodb"]["SequenceNumber"]}});
  }
  return invocation_response::success(json{{"batchItemFailures", failures}}.dump());
}

// Tumbling windows: sends the event to the sink like `forward`, and answers the window's state
// {"sum", "count"} with the records added: a Kinesis record's partition key, or the number "n" of a
// DynamoDB record's new image. The first invocation holding a record with the partition key in
// WINDOW_FAIL_KEY fails (a marker file under /tmp remembers it).
invocation_response window_sum(const invocation_request& req) {
  json event = parse(req);
  invocation_response error = invocation_response::success("{}");
  if (!to_sink(req, &error)) return error;
  if (const char* fail_key = std::getenv("WINDOW_FAIL_KEY")) {
    for (const auto& r : event.value("Records", json::array())) {
      if (!r.contains("kinesis") || r["kinesis"].value("partitionKey", "") != fail_key) continue;
      std::string marker = std::string("/tmp/sless-window-fail-") + fail_key;
      if (FILE* f = std::fopen(marker.c_str(), "wx")) {  // only the first time
        std::fclose(f);
        return invocation_response::failure("failing once", "WindowFail");
      }
    }
  }
  json state = event.value("state", json::object());
  long sum = state.value("sum", 0L);
  long count = state.value("count", 0L);
  for (const auto& r : event.value("Records", json::array())) {
    if (r.contains("kinesis")) sum += std::atol(r["kinesis"].value("partitionKey", "0").c_str());
    if (r.contains("dynamodb")) {
      sum += std::atol(r["dynamodb"].value("NewImage", json::object()).value("n", json::object()).value("N", "0").c_str());
    }
    ++count;
  }
  return invocation_response::success(json{{"state", {{"sum", sum}, {"count", count}}}}.dump());
}

// API Gateway: answers 200 with the event it received as a JSON body.
invocation_response http_echo(const invocation_request& req) {
  json out{{"statusCode", 200}, {"headers", {{"content-type", "application/json"}}}, {"body", parse(req).dump()}};
  return invocation_response::success(out.dump());
}

// API Gateway: the request body (base64-decoded when it came so) is the function's answer as is,
// so a test decides the proxy response, malformed ones included.
invocation_response http_respond(const invocation_request& req) {
  json event = parse(req);
  return invocation_response::success(event.value("body", std::string()));
}

// A Lambda authorizer. The token (TOKEN events), or the first identity source value, decides:
// "allow" / "deny" give an IAM policy with that effect, "unauthorized" fails with Unauthorized,
// anything else fails. Simple responses ({"isAuthorized"}) when the event asks for
// version 2.0 and the token starts with "simple-". The context counts this worker's calls.
invocation_response authorize(const invocation_request& req) {
  static int calls = 0;
  ++calls;
  json event = parse(req);
  std::string token = event.value("authorizationToken", std::string());
  if (token.empty() && event.contains("identitySource")) {
    const json& ids = event["identitySource"];
    token = ids.is_array() && !ids.empty() ? ids[0].get<std::string>() : ids.is_string() ? ids.get<std::string>() : "";
  }
  if (token.rfind("Bearer ", 0) == 0) token.erase(0, 7);
  json context{{"user", "ada"}, {"calls", calls}};
  if (token.rfind("simple-", 0) == 0) {
    return invocation_response::success(json{{"isAuthorized", token == "simple-allow"}, {"context", context}}.dump());
  }
  if (token == "unauthorized") return invocation_response::failure("Unauthorized", "Unauthorized");
  if (token != "allow" && token != "deny") return invocation_response::failure("bad token", "Error");
  std::string arn = event.value("methodArn", event.value("routeArn", std::string()));
  json policy{{"Version", "2012-10-17"},
              {"Statement", json::array({json{{"Action", "execute-api:Invoke"},
                                              {"Effect", token == "allow" ? "Allow" : "Deny"},
                                              {"Resource", arn.substr(0, arn.find('/')) + "/*"}}})}};
  return invocation_response::success(json{{"principalId", "user-1"}, {"policyDocument", policy}, {"context", context}}.dump());
}

}  // namespace

SLESS_HANDLER(http_echo)
SLESS_HANDLER(http_respond)
SLESS_HANDLER(authorize)
SLESS_HANDLER(echo)
SLESS_HANDLER(record)
SLESS_HANDLER(env)
SLESS_HANDLER(logs)
SLESS_HANDLER(fail)
SLESS_HANDLER(throws)
SLESS_HANDLER(crash)
SLESS_HANDLER_NAMED("abort", abort_now)
SLESS_HANDLER(sleep_forever)
SLESS_HANDLER(sleep_ms)
SLESS_HANDLER(allocate_forever)
SLESS_HANDLER(call)
SLESS_HANDLER(flaky)
SLESS_HANDLER(forward)
SLESS_HANDLER(window_sum)
