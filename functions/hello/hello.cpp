// The smallest sless function: greets whoever the event names (directly, or as an API
// Gateway path or query parameter: GET /hello/{name}, GET /hello?name=Ada).
//   aws lambda invoke --function-name hello --payload '{"name":"Ada"}' out.json
#include <sless/function.hpp>

using nlohmann::json;

static sless::invocation_response hello(const sless::invocation_request& req) {
  json event = sless::json_text::parse(req.payload);
  if (event.is_discarded()) return sless::invocation_response::failure("the event is not JSON", "InvalidEvent");
  std::string name = event.value("name", "world");
  for (const char* from : {"pathParameters", "queryStringParameters"}) {
    if (event.contains(from) && event[from].is_object()) name = event[from].value("name", name);
  }
  sless::log("greeting " + name);
  return sless::invocation_response::success(json{{"message", "Hello, " + name + "!"}}.dump());
}
SLESS_HANDLER(hello)
