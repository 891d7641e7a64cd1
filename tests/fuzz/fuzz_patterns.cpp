// fuzz_patterns: the matchers clients write as JSON text. An input is
//
//   <selector byte> PATTERN \n DOCUMENT
//
// and the selector picks: an SNS filter policy in the MessageAttributes scope (the document is
// Publish's MessageAttributes tree, turned into the matched document by attributes_document) or
// in the MessageBody scope (the document is the message body), an EventBridge event pattern
// (the document is the event), or an EventBridge schedule expression (PATTERN is the text;
// next_after is asked for a few instants). The pattern and document are parsed as the services
// parse them (nlohmann, no exceptions). Invariants: nothing throws; a pattern the validator
// accepts can be matched against any document; a pattern matches the same way twice; "$or"
// of a pattern with itself matches as the pattern does; a schedule's next firing is after the
// instant asked about (rates: within one period).
#include <string>

#include "fuzz_target.h"
#include "services/events/pattern.h"
#include "services/sns/filter_policy.h"

namespace {

using namespace sless;
using nlohmann::json;

json parse(std::string_view text) { return json::parse(text, nullptr, false); }

void fuzz_sns(std::string_view policy_text, std::string_view doc_text, bool body_scope) {
  json policy = parse(policy_text);
  if (policy.is_discarded()) return;
  auto invalid = services::sns::validate_filter_policy(policy, body_scope);
  if (invalid) {
    FUZZ_CHECK(!invalid->empty());
    return;
  }
  json doc = parse(doc_text);
  if (doc.is_discarded()) return;
  if (!body_scope) doc = services::sns::attributes_document(doc);
  bool m = services::sns::matches(policy, doc);
  FUZZ_CHECK(services::sns::matches(policy, doc) == m);
}

void fuzz_events(std::string_view pattern_text, std::string_view event_text) {
  json pattern = parse(pattern_text);
  if (pattern.is_discarded()) return;
  auto invalid = services::events::check_pattern(pattern);
  if (invalid) {
    FUZZ_CHECK(!invalid->empty());
    return;
  }
  json event = parse(event_text);
  if (event.is_discarded()) return;
  bool m = services::events::matches(pattern, event);
  // An "$or" of the pattern with itself is valid and matches as the pattern does.
  json doubled = {{"$or", json::array({pattern, pattern})}};
  FUZZ_CHECK(!services::events::check_pattern(doubled));
  FUZZ_CHECK(services::events::matches(doubled, event) == m);
}

void fuzz_schedule(std::string_view text) {
  auto schedule = services::events::Schedule::parse(std::string(text));
  if (!schedule) return;
  constexpr int64_t kCreated = 1700000000000;  // 2023-11-14
  for (int64_t after : {kCreated - 1, kCreated, kCreated + 59'999, kCreated + int64_t{86'400'000} * 400}) {
    int64_t next = schedule->next_after(after, kCreated);
    FUZZ_CHECK(next == 0 || next > after);
  }
}

}  // namespace

SLESS_FUZZ_TARGET(patterns) {
  fuzz::Input in(data, size);
  uint8_t selector = in.byte();
  std::string_view pattern = in.until('\n');
  std::string_view doc = in.rest();
  switch (selector % 4) {
    case 0: fuzz_sns(pattern, doc, false); break;
    case 1: fuzz_sns(pattern, doc, true); break;
    case 2: fuzz_events(pattern, doc); break;
    default: fuzz_schedule(pattern); break;
  }
  return 0;
}
