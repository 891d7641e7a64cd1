#include "protocol/model.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "protocol/specs_table.inc"

namespace sless::protocol {
namespace {

using json = nlohmann::ordered_json;  // keeps the model's member order (XML output follows it)

ShapeType parse_type(const std::string& t) {
  static const std::unordered_map<std::string, ShapeType> kTypes = {
      {"structure", ShapeType::kStructure}, {"list", ShapeType::kList},
      {"map", ShapeType::kMap},             {"string", ShapeType::kString},
      {"integer", ShapeType::kInteger},     {"long", ShapeType::kLong},
      {"float", ShapeType::kFloat},         {"double", ShapeType::kDouble},
      {"boolean", ShapeType::kBoolean},     {"blob", ShapeType::kBlob},
      {"timestamp", ShapeType::kTimestamp}, {"biginteger", ShapeType::kBigInteger},
      {"bigdecimal", ShapeType::kBigDecimal}, {"character", ShapeType::kString},
      {"byte", ShapeType::kInteger},        {"short", ShapeType::kInteger},
  };
  auto it = kTypes.find(t);
  return it == kTypes.end() ? ShapeType::kString : it->second;
}

Location parse_location(const std::string& l) {
  if (l == "header") return Location::kHeader;
  if (l == "headers") return Location::kHeaders;
  if (l == "uri") return Location::kUri;
  if (l == "querystring") return Location::kQueryString;
  if (l == "statusCode") return Location::kStatusCode;
  return Location::kBody;
}

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}

class Loader {
 public:
  explicit Loader(ServiceModel& m) : m_(m) {}

  const Shape* shape_ref(const std::string& name) {
    auto it = m_.shapes.find(name);
    if (it == m_.shapes.end()) {
      // A dangling reference: give it a string shape so codecs stay total.
      auto s = std::make_unique<Shape>();
      s->name = name;
      it = m_.shapes.emplace(name, std::move(s)).first;
    }
    return it->second.get();
  }

  void fill_member(Member& m, const json& ref) {
    m.shape = shape_ref(str(ref, "shape"));
    m.location = parse_location(str(ref, "location"));
    m.location_name = str(ref, "locationName");
    m.query_name = str(ref, "queryName");
    m.timestamp_format = str(ref, "timestampFormat");
    m.xml_attribute = flag(ref, "xmlAttribute");
    m.flattened = flag(ref, "flattened");
    m.idempotency_token = flag(ref, "idempotencyToken");
    m.json_value = flag(ref, "jsonvalue");
    m.host_label = flag(ref, "hostLabel");
    m.streaming = flag(ref, "streaming");
    m.event_payload = flag(ref, "eventpayload");
    if (auto ns = ref.find("xmlNamespace"); ns != ref.end() && ns->is_object()) {
      m.xml_namespace_uri = str(*ns, "uri");
      m.xml_namespace_prefix = str(*ns, "prefix");
    }
  }

  void fill_shape(Shape& s, const json& j) {
    s.type = parse_type(str(j, "type"));
    s.flattened = flag(j, "flattened");
    s.timestamp_format = str(j, "timestampFormat");
    s.location_name = str(j, "locationName");
    s.streaming = flag(j, "streaming");
    s.requires_length = flag(j, "requiresLength");
    s.exception = flag(j, "exception");
    s.document = flag(j, "document");
    s.is_union = flag(j, "union");
    s.event_stream = flag(j, "eventstream");
    s.payload = str(j, "payload");
    if (auto ns = j.find("xmlNamespace"); ns != j.end() && ns->is_object()) {
      s.xml_namespace_uri = str(*ns, "uri");
    }
    if (auto v = j.find("min"); v != j.end() && v->is_number()) s.min = v->get<double>();
    if (auto v = j.find("max"); v != j.end() && v->is_number()) s.max = v->get<double>();
    if (auto v = j.find("enum"); v != j.end() && v->is_array()) {
      for (const auto& e : *v) s.enum_values.push_back(e.get<std::string>());
    }
    if (auto e = j.find("error"); e != j.end() && e->is_object()) {
      s.error_code = str(*e, "code");
      if (auto c = e->find("httpStatusCode"); c != e->end() && c->is_number()) s.error_status = c->get<int>();
      if (auto f = e->find("senderFault"); f != e->end() && f->is_boolean()) s.error_sender_fault = f->get<bool>();
    }
    if (auto f = j.find("fault"); f != j.end() && f->is_boolean() && f->get<bool>()) {
      s.error_sender_fault = false;
    }
    if (s.type == ShapeType::kStructure) {
      std::vector<std::string> required;
      if (auto r = j.find("required"); r != j.end() && r->is_array()) {
        for (const auto& x : *r) required.push_back(x.get<std::string>());
      }
      if (auto ms = j.find("members"); ms != j.end() && ms->is_object()) {
        s.members.reserve(ms->size());
        for (const auto& [name, ref] : ms->items()) {
          Member m;
          m.name = name;
          fill_member(m, ref);
          m.required = std::find(required.begin(), required.end(), name) != required.end();
          if (m.location == Location::kBody && !m.location_name.empty() && m.location_name != name) {
            m_.json_renames = true;
          }
          s.members.push_back(std::move(m));
        }
      }
    } else if (s.type == ShapeType::kList) {
      if (auto m = j.find("member"); m != j.end()) fill_member(s.member, *m);
    } else if (s.type == ShapeType::kMap) {
      if (auto k = j.find("key"); k != j.end()) fill_member(s.key, *k);
      if (auto v = j.find("value"); v != j.end()) fill_member(s.value, *v);
    }
  }

  static void parse_uri(Operation& op) {
    std::string_view uri = op.request_uri;
    std::string_view path = uri;
    if (auto q = uri.find('?'); q != std::string_view::npos) {
      path = uri.substr(0, q);
      std::string_view query = uri.substr(q + 1);
      while (!query.empty()) {
        auto amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        auto eq = part.find('=');
        std::string k(part.substr(0, eq));
        std::string v = eq == std::string_view::npos ? std::string() : std::string(part.substr(eq + 1));
        if (!k.empty()) op.uri_query.emplace_back(std::move(k), std::move(v));
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
      }
    }
    // Split the path on '/' keeping literal runs and {labels}.
    size_t i = 0;
    while (i < path.size()) {
      if (path[i] == '{') {
        auto close = path.find('}', i);
        if (close == std::string_view::npos) break;
        UriSegment seg;
        seg.is_label = true;
        std::string_view name = path.substr(i + 1, close - i - 1);
        if (!name.empty() && name.back() == '+') {
          seg.greedy = true;
          name.remove_suffix(1);
        }
        seg.text = std::string(name);
        op.path_segments.push_back(std::move(seg));
        i = close + 1;
      } else {
        auto next = path.find('{', i);
        UriSegment seg;
        seg.text = std::string(path.substr(i, next == std::string_view::npos ? std::string_view::npos : next - i));
        op.path_segments.push_back(std::move(seg));
        i = next == std::string_view::npos ? path.size() : next;
      }
    }
  }

  void load(const json& root) {
    const json& meta = root.at("metadata");
    std::string proto = str(meta, "protocol");
    m_.protocol = proto == "query"       ? Protocol::kQuery
                  : proto == "rest-json" ? Protocol::kRestJson
                  : proto == "rest-xml"  ? Protocol::kRestXml
                                         : Protocol::kJson;
    m_.json_version = str(meta, "jsonVersion");
    m_.target_prefix = str(meta, "targetPrefix");
    m_.signing_name = str(meta, "signingName");
    m_.endpoint_prefix = str(meta, "endpointPrefix");
    if (m_.signing_name.empty()) m_.signing_name = m_.endpoint_prefix;
    m_.api_version = str(meta, "apiVersion");
    m_.xml_namespace = str(meta, "xmlNamespace");
    m_.service_id = str(meta, "serviceId");
    m_.aws_query_compatible = meta.contains("awsQueryCompatible");

    const json& shapes = root.at("shapes");
    for (const auto& [name, _] : shapes.items()) {
      auto s = std::make_unique<Shape>();
      s->name = name;
      m_.shapes.emplace(name, std::move(s));
    }
    for (const auto& [name, j] : shapes.items()) {
      fill_shape(*m_.shapes.at(name), j);
    }
    for (const auto& [name, j] : root.at("operations").items()) {
      Operation op;
      op.name = name;
      if (auto h = j.find("http"); h != j.end()) {
        op.http_method = str(*h, "method");
        op.request_uri = str(*h, "requestUri");
        if (auto rc = h->find("responseCode"); rc != h->end() && rc->is_number()) {
          op.response_code = rc->get<int>();
        }
      }
      if (op.http_method.empty()) op.http_method = "POST";
      if (op.request_uri.empty()) op.request_uri = "/";
      parse_uri(op);
      if (auto in = j.find("input"); in != j.end()) {
        op.input = shape_ref(str(*in, "shape"));
        op.input_location_name = str(*in, "locationName");
        if (auto ns = in->find("xmlNamespace"); ns != in->end() && ns->is_object()) {
          op.input_xml_namespace = str(*ns, "uri");
        }
      }
      if (auto out = j.find("output"); out != j.end()) {
        op.output = shape_ref(str(*out, "shape"));
        op.result_wrapper = str(*out, "resultWrapper");
      }
      if (auto errs = j.find("errors"); errs != j.end()) {
        for (const auto& e : *errs) op.errors.push_back(shape_ref(str(e, "shape")));
      }
      if (auto ep = j.find("endpoint"); ep != j.end()) op.host_prefix = str(*ep, "hostPrefix");
      op.auth_none = str(j, "authtype") == "none";
      op.deprecated = flag(j, "deprecated");
      op.unsigned_payload = flag(j, "unsignedPayload");
      if (auto hc = j.find("httpChecksum"); hc != j.end()) {
        op.checksum_algorithm_member = str(*hc, "requestAlgorithmMember");
        op.checksum_required = flag(*hc, "requestChecksumRequired");
      }
      m_.operations.emplace(name, std::move(op));
    }
  }

 private:
  ServiceModel& m_;
};

}  // namespace

const Member* Shape::find_member(std::string_view n) const {
  for (const auto& m : members) {
    if (m.name == n) return &m;
  }
  return nullptr;
}

const Operation* ServiceModel::find_operation(std::string_view op) const {
  auto it = operations.find(std::string(op));
  return it == operations.end() ? nullptr : &it->second;
}

const Shape* ServiceModel::find_shape(std::string_view s) const {
  auto it = shapes.find(std::string(s));
  return it == shapes.end() ? nullptr : it->second.get();
}

const Shape* ServiceModel::find_error(std::string_view code) const {
  if (const Shape* s = find_shape(code); s && s->exception) return s;
  for (const auto& [_, s] : shapes) {
    if (s->exception && s->error_code == code) return s.get();
  }
  return nullptr;
}

std::vector<const Operation*> ServiceModel::sorted_operations() const {
  std::vector<const Operation*> out;
  out.reserve(operations.size());
  for (const auto& [_, op] : operations) out.push_back(&op);
  std::sort(out.begin(), out.end(), [](auto* a, auto* b) { return a->name < b->name; });
  return out;
}

struct ModelRegistry::Entry {
  std::string name;
  std::string_view text;
  mutable std::once_flag once;
  mutable std::unique_ptr<ServiceModel> model;
};

ModelRegistry::ModelRegistry() {
  for (const auto& spec : kEmbeddedSpecs) {
    auto e = std::make_unique<Entry>();
    e->name = spec.name;
    e->text = std::string_view(spec.begin, static_cast<size_t>(spec.end - spec.begin));
    entries_.push_back(std::move(e));
  }
}

ModelRegistry& ModelRegistry::instance() {
  static ModelRegistry* r = new ModelRegistry();  // never destroyed: models outlive everything
  return *r;
}

const ServiceModel* ModelRegistry::get(std::string_view service) const {
  for (const auto& e : entries_) {
    if (e->name == service) {
      std::call_once(e->once, [&] {
        const auto began = std::chrono::steady_clock::now();
        e->model = parse(e->name, e->text);
        log::debug("model {} loaded in {:.1f} ms", e->name,
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - began).count());
      });
      return e->model.get();
    }
  }
  return nullptr;
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e->name);
  return out;
}

std::unique_ptr<ServiceModel> ModelRegistry::parse(std::string_view name, std::string_view text) {
  auto model = std::make_unique<ServiceModel>();
  model->name = std::string(name);
  json root = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (root.is_discarded() || !root.is_object()) {
    log::error("model {} is not valid JSON", name);
    return model;
  }
  try {
    Loader(*model).load(root);
  } catch (const std::exception& e) {
    log::error("model {} could not be loaded: {}", name, e.what());
  }
  return model;
}

const char* to_string(Protocol p) {
  switch (p) {
    case Protocol::kJson: return "json";
    case Protocol::kQuery: return "query";
    case Protocol::kRestJson: return "rest-json";
    case Protocol::kRestXml: return "rest-xml";
  }
  return "?";
}

const char* to_string(ShapeType t) {
  switch (t) {
    case ShapeType::kStructure: return "structure";
    case ShapeType::kList: return "list";
    case ShapeType::kMap: return "map";
    case ShapeType::kString: return "string";
    case ShapeType::kInteger: return "integer";
    case ShapeType::kLong: return "long";
    case ShapeType::kFloat: return "float";
    case ShapeType::kDouble: return "double";
    case ShapeType::kBoolean: return "boolean";
    case ShapeType::kBlob: return "blob";
    case ShapeType::kTimestamp: return "timestamp";
    case ShapeType::kBigInteger: return "biginteger";
    case ShapeType::kBigDecimal: return "bigdecimal";
  }
  return "?";
}

}  // namespace sless::protocol
