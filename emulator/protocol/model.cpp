#include "protocol/model.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include <nlohmann/json.hpp>

#include "core/log.h"
#include "protocol/specs_table.inc"

namespace sless::protocol {
namespace {

// The model's JSON as a read-only tree built in one pass of nlohmann's SAX parser: objects keep
// their members' order (XML output follows it) and every string lives in one buffer. Building
// nlohmann's own ordered tree cost 3-8x more than the parse itself, and each model is loaded on its
// service's first request (or during a stack's first deployment), so this is on a request path.
class Tree {
  enum class Kind : uint8_t { kNull, kBool, kNumber, kString, kArray, kObject };
  struct Span {
    uint32_t offset = 0;
    uint32_t size = 0;
  };
  struct Node {
    Kind kind = Kind::kNull;
    bool boolean = false;
    double number = 0;
    Span str;
    uint32_t kids_begin = 0;  // [begin, end) in kids_: a container's members or elements
    uint32_t kids_end = 0;
  };
  struct Kid {
    Span key;  // empty in arrays
    uint32_t node = 0;
  };

 public:
  // Parses `text`; false when it is not JSON.
  bool parse(std::string_view text) {
    // About one node per 14 bytes of the AWS models, and less string than text: no regrowth.
    nodes_.reserve(text.size() / 10);
    kids_.reserve(text.size() / 10);
    strings_.reserve(text.size() / 2);
    Builder b(*this);
    return nlohmann::json::sax_parse(text, &b) && !nodes_.empty();
  }

  // A node of the tree, or no node (false) where a member is absent.
  class View {
   public:
    View() = default;
    View(const Tree* t, uint32_t n) : t_(t), n_(n) {}
    explicit operator bool() const { return t_ != nullptr; }
    bool is_object() const { return kind() == Kind::kObject; }
    bool is_array() const { return kind() == Kind::kArray; }
    bool is_string() const { return kind() == Kind::kString; }
    bool is_number() const { return kind() == Kind::kNumber; }
    bool is_boolean() const { return kind() == Kind::kBool; }
    std::string_view text() const { return t_ ? t_->str(node().str) : std::string_view(); }
    double number() const { return t_ ? node().number : 0; }
    bool boolean() const { return t_ && node().boolean; }
    size_t size() const { return t_ ? node().kids_end - node().kids_begin : 0; }
    // The member called key of an object (the first one of that name), or no node.
    View find(std::string_view key) const {
      if (!is_object()) return {};
      for (uint32_t i = node().kids_begin; i < node().kids_end; ++i) {
        if (t_->str(t_->kids_[i].key) == key) return View(t_, t_->kids_[i].node);
      }
      return {};
    }
    // The member called key, which must exist.
    View at(std::string_view key) const {
      View v = find(key);
      if (!v) throw std::runtime_error("missing member " + std::string(key));
      return v;
    }
    // Calls f(key, value) for each member of an object or f("", value) for each array element.
    template <typename F>
    void each(F&& f) const {
      if (!t_) return;
      for (uint32_t i = node().kids_begin; i < node().kids_end; ++i) {
        f(t_->str(t_->kids_[i].key), View(t_, t_->kids_[i].node));
      }
    }

   private:
    Kind kind() const { return t_ ? node().kind : Kind::kNull; }
    const Node& node() const { return t_->nodes_[n_]; }
    const Tree* t_ = nullptr;
    uint32_t n_ = 0;
  };

  View root() const { return nodes_.empty() ? View() : View(this, 0); }

 private:
  std::string_view str(Span s) const { return std::string_view(strings_).substr(s.offset, s.size); }

  // Containers' members are collected on a stack while they are open and moved to kids_ in one
  // block when they close, so that each container's members are contiguous.
  class Builder final : public nlohmann::json_sax<nlohmann::json> {
   public:
    explicit Builder(Tree& t) : t_(t) {}
    bool null() override { return add(Node{}); }
    bool boolean(bool v) override {
      Node n;
      n.kind = Kind::kBool;
      n.boolean = v;
      return add(n);
    }
    bool number_integer(number_integer_t v) override { return number(static_cast<double>(v)); }
    bool number_unsigned(number_unsigned_t v) override { return number(static_cast<double>(v)); }
    bool number_float(number_float_t v, const string_t&) override { return number(v); }
    bool string(string_t& v) override {
      Node n;
      n.kind = Kind::kString;
      n.str = keep(v);
      return add(n);
    }
    bool binary(binary_t&) override { return false; }
    bool start_object(std::size_t) override { return open(Kind::kObject); }
    bool key(string_t& k) override {
      key_ = keep(k);
      return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t) override { return open(Kind::kArray); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override { return false; }

   private:
    Span keep(const std::string& v) {
      Span s{static_cast<uint32_t>(t_.strings_.size()), static_cast<uint32_t>(v.size())};
      t_.strings_.append(v);
      return s;
    }
    bool number(double v) {
      Node n;
      n.kind = Kind::kNumber;
      n.number = v;
      return add(n);
    }
    // Adds a node as the next member of the open container (or as the root).
    bool add(const Node& n) {
      const auto index = static_cast<uint32_t>(t_.nodes_.size());
      t_.nodes_.push_back(n);
      if (!open_.empty()) {
        pending_.push_back(Kid{key_, index});
        key_ = Span{};
      }
      return true;
    }
    bool open(Kind kind) {
      Node n;
      n.kind = kind;
      add(n);
      open_.push_back(Open{static_cast<uint32_t>(t_.nodes_.size() - 1), pending_.size()});
      return true;
    }
    bool close() {
      const Open o = open_.back();
      open_.pop_back();
      Node& n = t_.nodes_[o.node];
      n.kids_begin = static_cast<uint32_t>(t_.kids_.size());
      t_.kids_.insert(t_.kids_.end(), pending_.begin() + static_cast<std::ptrdiff_t>(o.first_pending), pending_.end());
      n.kids_end = static_cast<uint32_t>(t_.kids_.size());
      pending_.resize(o.first_pending);
      return true;
    }

    struct Open {
      uint32_t node;
      size_t first_pending;
    };
    Tree& t_;
    std::vector<Open> open_;
    std::vector<Kid> pending_;
    Span key_;
  };

  std::vector<Node> nodes_;
  std::vector<Kid> kids_;
  std::string strings_;
};

using J = Tree::View;

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

std::string str(J j, std::string_view key) {
  J v = j.find(key);
  return v.is_string() ? std::string(v.text()) : std::string();
}

bool flag(J j, std::string_view key) {
  J v = j.find(key);
  return v.is_boolean() && v.boolean();
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

  void fill_member(Member& m, J ref) {
    m.shape = shape_ref(str(ref, "shape"));
    m.location = parse_location(str(ref, "location"));
    m.location_name = str(ref, "locationName");
    RareMemberTraits rare;
    rare.query_name = str(ref, "queryName");
    rare.timestamp_format = str(ref, "timestampFormat");
    m.xml_attribute = flag(ref, "xmlAttribute");
    m.flattened = flag(ref, "flattened");
    m.idempotency_token = flag(ref, "idempotencyToken");
    m.json_value = flag(ref, "jsonvalue");
    m.host_label = flag(ref, "hostLabel");
    m.streaming = flag(ref, "streaming");
    m.event_payload = flag(ref, "eventpayload");
    if (J ns = ref.find("xmlNamespace"); ns.is_object()) {
      rare.xml_namespace_uri = str(ns, "uri");
      rare.xml_namespace_prefix = str(ns, "prefix");
    }
    if (!rare.query_name.empty() || !rare.timestamp_format.empty() || !rare.xml_namespace_uri.empty() ||
        !rare.xml_namespace_prefix.empty()) {
      m.rare = std::make_shared<const RareMemberTraits>(std::move(rare));
    }
  }

  void fill_shape(Shape& s, J j) {
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
    if (J ns = j.find("xmlNamespace"); ns.is_object()) {
      s.xml_namespace_uri = str(ns, "uri");
    }
    if (J v = j.find("min"); v.is_number()) s.min = v.number();
    if (J v = j.find("max"); v.is_number()) s.max = v.number();
    if (J v = j.find("enum"); v.is_array()) {
      s.enum_values.reserve(v.size());
      v.each([&](std::string_view, J e) { s.enum_values.emplace_back(e.text()); });
    }
    if (J e = j.find("error"); e.is_object()) {
      s.error_code = str(e, "code");
      if (J c = e.find("httpStatusCode"); c.is_number()) s.error_status = static_cast<int>(c.number());
      if (J f = e.find("senderFault"); f.is_boolean()) s.error_sender_fault = f.boolean();
    }
    if (flag(j, "fault")) {
      s.error_sender_fault = false;
    }
    if (s.type == ShapeType::kStructure) {
      J required = j.find("required");
      const auto is_required = [&required](std::string_view name) {
        bool found = false;
        required.each([&](std::string_view, J r) { found = found || r.text() == name; });
        return found;
      };
      if (J ms = j.find("members"); ms.is_object()) {
        s.members.reserve(ms.size());
        ms.each([&](std::string_view name, J ref) {
          Member m;
          m.name = std::string(name);
          fill_member(m, ref);
          m.required = is_required(name);
          if (m.location == Location::kBody && !m.location_name.empty() && m.location_name != name) {
            m_.json_renames = true;
          }
          s.members.push_back(std::move(m));
        });
      }
    } else if (s.type == ShapeType::kList) {
      s.container = std::make_unique<Shape::ContainerTraits>();
      if (J m = j.find("member")) fill_member(s.container->member, m);
    } else if (s.type == ShapeType::kMap) {
      s.container = std::make_unique<Shape::ContainerTraits>();
      if (J k = j.find("key")) fill_member(s.container->key, k);
      if (J v = j.find("value")) fill_member(s.container->value, v);
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

  void load(J root) {
    J meta = root.at("metadata");
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
    m_.aws_query_compatible = static_cast<bool>(meta.find("awsQueryCompatible"));

    J shapes = root.at("shapes");
    std::vector<Shape*> in_order;
    in_order.reserve(shapes.size());
    shapes.each([&](std::string_view name, J) {
      auto s = std::make_unique<Shape>();
      s->name = std::string(name);
      // A repeated name fills the shape that holds it (the first), never a discarded one.
      in_order.push_back(m_.shapes.emplace(s->name, std::move(s)).first->second.get());
    });
    size_t i = 0;
    shapes.each([&](std::string_view, J j) { fill_shape(*in_order[i++], j); });
    root.at("operations").each([&](std::string_view name, J j) {
      Operation op;
      op.name = std::string(name);
      if (J h = j.find("http")) {
        op.http_method = str(h, "method");
        op.request_uri = str(h, "requestUri");
        if (J rc = h.find("responseCode"); rc.is_number()) {
          op.response_code = static_cast<int>(rc.number());
        }
      }
      if (op.http_method.empty()) op.http_method = "POST";
      if (op.request_uri.empty()) op.request_uri = "/";
      parse_uri(op);
      if (J in = j.find("input")) {
        op.input = shape_ref(str(in, "shape"));
        op.input_location_name = str(in, "locationName");
        if (J ns = in.find("xmlNamespace"); ns.is_object()) {
          op.input_xml_namespace = str(ns, "uri");
        }
      }
      if (J out = j.find("output")) {
        op.output = shape_ref(str(out, "shape"));
        op.result_wrapper = str(out, "resultWrapper");
      }
      j.find("errors").each([&](std::string_view, J e) { op.errors.push_back(shape_ref(str(e, "shape"))); });
      if (J ep = j.find("endpoint")) op.host_prefix = str(ep, "hostPrefix");
      op.auth_none = str(j, "authtype") == "none";
      op.deprecated = flag(j, "deprecated");
      op.unsigned_payload = flag(j, "unsignedPayload");
      if (J hc = j.find("httpChecksum")) {
        op.checksum_algorithm_member = str(hc, "requestAlgorithmMember");
        op.checksum_required = flag(hc, "requestChecksumRequired");
      }
      m_.operations.emplace(op.name, std::move(op));
    });
    build_routes();
  }

  // Groups the operations by method, then by the path of their request URI (label names
  // included: the same text is the same template). Operations are listed by name in each group.
  void build_routes() {
    for (const Operation* op : m_.sorted_operations()) {
      auto by_method = std::find_if(m_.rest_routes.begin(), m_.rest_routes.end(),
                                    [&](const MethodRoutes& r) { return r.method == op->http_method; });
      if (by_method == m_.rest_routes.end()) {
        by_method = m_.rest_routes.insert(m_.rest_routes.end(), MethodRoutes{op->http_method, {}});
      }
      std::string_view path = std::string_view(op->request_uri).substr(0, op->request_uri.find('?'));
      auto group = std::find_if(by_method->groups.begin(), by_method->groups.end(), [&](const RouteGroup& g) {
        const std::string& uri = g.operations.front()->request_uri;
        return std::string_view(uri).substr(0, uri.find('?')) == path;
      });
      if (group == by_method->groups.end()) {
        group = by_method->groups.insert(by_method->groups.end(), RouteGroup{&op->path_segments, {}});
      }
      group->operations.push_back(op);
    }
  }

 private:
  ServiceModel& m_;
};

}  // namespace

const std::string Member::kNoTrait;
const Member Shape::kNoMember;

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

const std::vector<RouteGroup>* ServiceModel::routes_for(std::string_view method) const {
  for (const auto& r : rest_routes) {
    if (r.method == method) return &r.groups;
  }
  return nullptr;
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

std::string_view ModelRegistry::text(std::string_view service) const {
  for (const auto& e : entries_) {
    if (e->name == service) return e->text;
  }
  return {};
}

std::vector<std::string> ModelRegistry::names() const {
  std::vector<std::string> out;
  for (const auto& e : entries_) out.push_back(e->name);
  return out;
}

std::unique_ptr<ServiceModel> ModelRegistry::parse(std::string_view name, std::string_view text) {
  auto model = std::make_unique<ServiceModel>();
  model->name = std::string(name);
  Tree tree;
  if (!tree.parse(text) || !tree.root().is_object()) {
    log::error("model {} is not valid JSON", name);
    return model;
  }
  try {
    Loader(*model).load(tree.root());
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
