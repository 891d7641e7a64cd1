// The model loader against an independent reading of the same embedded JSON (nlohmann's ordered
// tree): every shape, member order, required flag, enum and operation route must agree, for every
// embedded model. The loader builds its own tree in one pass, so this is what keeps it honest.
#include "protocol/model.h"

#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

namespace sless::protocol {
namespace {

using ordered = nlohmann::ordered_json;

std::string text_of(const ordered& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

TEST_CASE("every embedded model loads as its JSON says", "[protocol][model]") {
  const ModelRegistry& registry = ModelRegistry::instance();
  const std::vector<std::string> names = registry.names();
  REQUIRE(names.size() >= 15);
  for (const std::string& name : names) {
    INFO("model " << name);
    const ordered j = ordered::parse(registry.text(name));
    const ServiceModel* m = registry.get(name);
    REQUIRE(m != nullptr);
    CHECK(m->api_version == text_of(j["metadata"], "apiVersion"));
    CHECK(m->target_prefix == text_of(j["metadata"], "targetPrefix"));

    REQUIRE(m->operations.size() == j["operations"].size());
    for (const auto& [op_name, op] : j["operations"].items()) {
      INFO("operation " << op_name);
      const Operation* loaded = m->find_operation(op_name);
      REQUIRE(loaded != nullptr);
      const ordered http = op.value("http", ordered::object());
      CHECK(loaded->http_method == (http.contains("method") ? http["method"].get<std::string>() : "POST"));
      CHECK(loaded->request_uri == (http.contains("requestUri") ? http["requestUri"].get<std::string>() : "/"));
      if (http.contains("responseCode")) CHECK(loaded->response_code == http["responseCode"].get<int>());
      CHECK(loaded->errors.size() == op.value("errors", ordered::array()).size());
      if (op.contains("input")) {
        REQUIRE(loaded->input != nullptr);
        CHECK(loaded->input->name == op["input"]["shape"].get<std::string>());
      }
    }

    for (const auto& [shape_name, shape] : j["shapes"].items()) {
      INFO("shape " << shape_name);
      const Shape* s = m->find_shape(shape_name);
      REQUIRE(s != nullptr);
      const std::string type = text_of(shape, "type");
      if (type == "structure" || type == "list" || type == "map" || type == "string" || type == "blob") {
        CHECK(to_string(s->type) == type);
      }
      std::vector<std::string> want_enum;
      for (const auto& e : shape.value("enum", ordered::array())) want_enum.push_back(e.get<std::string>());
      CHECK(s->enum_values == want_enum);
      if (shape.contains("min")) CHECK(s->min == shape["min"].get<double>());
      if (shape.contains("max")) CHECK(s->max == shape["max"].get<double>());
      CHECK(s->exception == shape.value("exception", false));
      if (type == "list") {
        CHECK(s->member().shape->name == shape["member"]["shape"].get<std::string>());
        CHECK(s->member().location_name == text_of(shape["member"], "locationName"));
      }
      if (type == "map") {
        CHECK(s->key().shape->name == shape["key"]["shape"].get<std::string>());
        CHECK(s->value().shape->name == shape["value"]["shape"].get<std::string>());
        CHECK(s->value().location_name == text_of(shape["value"], "locationName"));
      }
      if (type != "list" && type != "map") CHECK(s->member().shape == nullptr);
      if (type != "structure") continue;
      const ordered required = shape.value("required", ordered::array());
      const ordered members = shape.value("members", ordered::object());
      REQUIRE(s->members.size() == members.size());
      size_t i = 0;
      for (const auto& [member_name, ref] : members.items()) {
        INFO("member " << member_name);
        const Member& got = s->members[i++];
        CHECK(got.name == member_name);  // in the model's order
        REQUIRE(got.shape != nullptr);
        CHECK(got.shape->name == ref["shape"].get<std::string>());
        CHECK(got.location_name == text_of(ref, "locationName"));
        CHECK(got.required == (std::find(required.begin(), required.end(), member_name) != required.end()));
        CHECK(got.flattened == ref.value("flattened", false));
        CHECK(got.timestamp_format() == text_of(ref, "timestampFormat"));
        CHECK(got.query_name() == text_of(ref, "queryName"));
        const ordered ns = ref.value("xmlNamespace", ordered::object());
        CHECK(got.xml_namespace_uri() == text_of(ns, "uri"));
        CHECK(got.xml_namespace_prefix() == text_of(ns, "prefix"));
      }
    }
  }
}

TEST_CASE("a model that is not JSON loads as an empty model", "[protocol][model]") {
  for (std::string_view bad : {"", "{", "[1,2]", "{\"metadata\":{}}", "{\"a\":tru}"}) {
    INFO(bad);
    auto m = ModelRegistry::parse("broken", bad);
    REQUIRE(m != nullptr);
    CHECK(m->operations.empty());
  }
}

}  // namespace
}  // namespace sless::protocol
