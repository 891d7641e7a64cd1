// fuzz_json: json_text::parse (sless/json_text.hpp), the parser of request bodies, function answers and plugin service
// calls, against nlohmann's own parser. An input is the JSON text itself. Invariants: both accept
// or both refuse (a refusal for depth only past the limit); an accepted text gives the same value,
// down to the number types (compared through dump(), which tells 1 from 1.0 and -0.0 from 0).
#include <string>

#include <nlohmann/json.hpp>

#include "core/json_parse.h"
#include "fuzz_target.h"

SLESS_FUZZ_TARGET(json) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  constexpr int kDepth = 64;
  bool too_deep = false;
  nlohmann::json ours = sless::json_text::parse(text, kDepth, &too_deep);
  nlohmann::json theirs = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (too_deep) {
    FUZZ_CHECK(ours.is_discarded());
    return 0;
  }
  FUZZ_CHECK(ours.is_discarded() == theirs.is_discarded());
  if (!ours.is_discarded()) FUZZ_CHECK(ours.dump() == theirs.dump());
  return 0;
}
