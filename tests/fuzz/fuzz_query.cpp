// fuzz_query: form-encoded requests against the query-protocol models (SQS's legacy model and
// SNS), and http::parse_query. An input is
//
//   <flags byte> <operation byte> FORM
//
// flags: bit 0 picks the model, bit 1 sends the pairs in the URL instead of the body, bit 2
// posts to a queue URL path, bit 3 drops the Content-Type. The operation byte prefixes
// "Action=<op>&" with one of the model's operations (0xff: none, the form must say it), so the
// fuzzer spends its time on the members rather than on guessing action names.
// parse_query must survive a round trip: re-encoding what it decoded and decoding again gives
// the same pairs.
#include <string>
#include <vector>

#include "core/encoding.h"
#include "fuzz_checks.h"
#include "fuzz_target.h"
#include "http/message.h"
#include "protocol/codec.h"
#include "protocol/model.h"

namespace {

using namespace sless;

struct QueryModel {
  const protocol::ServiceModel* model;
  std::vector<const protocol::Operation*> ops;
};

const QueryModel& query_model(int which) {
  static const QueryModel models[2] = {
      {protocol::ModelRegistry::instance().get("sqs-query"),
       protocol::ModelRegistry::instance().get("sqs-query")->sorted_operations()},
      {protocol::ModelRegistry::instance().get("sns"), protocol::ModelRegistry::instance().get("sns")->sorted_operations()},
  };
  return models[which];
}

void check_parse_query_round_trip(std::string_view raw, bool plus_as_space) {
  auto first = http::parse_query(raw, plus_as_space);
  std::string again;
  for (const auto& p : first) {
    FUZZ_CHECK(!p.no_value || p.value.empty());
    if (!again.empty()) again += '&';
    again += enc::percent_encode(p.key);
    if (!p.no_value) again += '=' + enc::percent_encode(p.value);
  }
  auto second = http::parse_query(again, plus_as_space);
  // A pair with an empty key and no value ("&&") vanishes when re-encoded; all others survive.
  size_t j = 0;
  for (const auto& p : first) {
    if (p.key.empty() && p.no_value) continue;
    FUZZ_CHECK(j < second.size());
    FUZZ_CHECK(second[j].key == p.key && second[j].value == p.value && second[j].no_value == p.no_value);
    ++j;
  }
  FUZZ_CHECK(j == second.size());
}

}  // namespace

SLESS_FUZZ_TARGET(query) {
  fuzz::Input in(data, size);
  const uint8_t flags = in.byte();
  const uint8_t op_index = in.byte();
  const QueryModel& qm = query_model(flags & 1);
  std::string form;
  if (op_index != 0xff && !qm.ops.empty()) form = "Action=" + qm.ops[op_index % qm.ops.size()]->name + "&";
  form.append(in.rest());

  check_parse_query_round_trip(in.rest(), true);
  check_parse_query_round_trip(in.rest(), false);

  http::Request req;
  req.method = (flags & 2) ? "GET" : "POST";
  req.target = (flags & 4) ? "/000000000000/fuzz-queue" : "/";
  req.headers.add("Host", "localhost:4566");
  if (flags & 2) {
    req.target += "?" + form;
  } else {
    req.body = form;
    if (!(flags & 8)) req.headers.add("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
  }

  auto parsed = protocol::parse_request(*qm.model, req);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error().code.empty());
    fuzz::check_response(protocol::serialize_error(*qm.model, nullptr, parsed.error(), "fuzz-request-id"));
    return 0;
  }
  FUZZ_CHECK(parsed.value().op != nullptr);
  fuzz::check_response(protocol::serialize_result(*qm.model, *parsed.value().op,
                                                  protocol::OperationOutput(std::move(parsed.value().params)),
                                                  "fuzz-request-id"));
  return 0;
}
