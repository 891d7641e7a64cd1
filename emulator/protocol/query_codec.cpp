// Query protocol (SNS, and SQS for clients that still speak it).
//
//   POST /  application/x-www-form-urlencoded   (or GET with the same pairs in the URL)
//   Action=CreateQueue&Version=2012-11-05&QueueName=q&Attribute.1.Name=DelaySeconds&...
//        │  flat keys are walked against the input shape:
//        │    structure member   Prefix.Member (its locationName when the model gives one)
//        │    list               Prefix.member.N        flattened: Prefix.N / Prefix.<ItemName>.N
//        │    map                Prefix.entry.N.key/value   flattened: Prefix.N.<Key>/<Value>
//        ▼
//   params tree ──▶ service ──▶ <ActionResponse xmlns=...><ActionResult>…</ActionResult>
//                               <ResponseMetadata><RequestId>…</RequestId></ResponseMetadata>
#include <algorithm>
#include <map>

#include "core/encoding.h"
#include "protocol/internal.h"
#include "protocol/xml.h"

namespace sless::protocol::detail {

using nlohmann::json;

namespace {

using Flat = std::map<std::string, std::string, std::less<>>;

class QueryReader {
 public:
  explicit QueryReader(const Flat& flat) : flat_(flat) {}

  std::optional<ServiceError> error;

  void read_structure(const Shape& s, const std::string& prefix, json& out) {
    for (const auto& m : s.members) {
      std::string name = m.query_name().empty() ? m.wire_name() : m.query_name();
      std::string key = prefix.empty() ? name : prefix + "." + name;
      if (auto v = read(*m.shape, &m, key)) out[m.name] = std::move(*v);
      if (error) return;
    }
  }

 private:
  bool has_prefix(const std::string& p) const {
    auto it = flat_.lower_bound(p);
    return it != flat_.end() && enc::starts_with(it->first, p);
  }

  // Indexes N present under "<p>N" (N >= 1), sorted.
  std::vector<long> indexes(const std::string& p) const {
    std::vector<long> out;
    for (auto it = flat_.lower_bound(p); it != flat_.end() && enc::starts_with(it->first, p); ++it) {
      std::string_view rest = std::string_view(it->first).substr(p.size());
      size_t digits = 0;
      while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') ++digits;
      if (digits == 0 || digits > 6 || (digits < rest.size() && rest[digits] != '.')) continue;
      long n = std::stol(std::string(rest.substr(0, digits)));
      if (n >= 1 && (out.empty() || out.back() != n)) out.push_back(n);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  std::optional<json> read(const Shape& s, const Member* ref, const std::string& key) {
    switch (s.type) {
      case ShapeType::kStructure: {
        if (!has_prefix(key + ".")) return std::nullopt;
        json obj = json::object();
        read_structure(s, key, obj);
        return obj;
      }
      case ShapeType::kList: {
        bool flattened = s.flattened || (ref && ref->flattened);
        std::string item_prefix;
        if (flattened) {
          std::string base = key;
          if (!s.member().location_name.empty()) {
            auto dot = base.rfind('.');
            base = (dot == std::string::npos ? std::string() : base.substr(0, dot + 1)) + s.member().location_name;
          }
          item_prefix = base + ".";
        } else {
          item_prefix = key + "." + (s.member().location_name.empty() ? "member" : s.member().location_name) + ".";
        }
        auto exact = flat_.find(key);
        if (exact != flat_.end() && exact->second.empty() && !has_prefix(item_prefix)) return json::array();
        if (!has_prefix(item_prefix)) return std::nullopt;
        json arr = json::array();
        for (long n : indexes(item_prefix)) {
          if (auto v = read(*s.member().shape, &s.member(), item_prefix + std::to_string(n))) arr.push_back(std::move(*v));
          if (error) return std::nullopt;
        }
        return arr;
      }
      case ShapeType::kMap: {
        bool flattened = s.flattened || (ref && ref->flattened);
        std::string entry_prefix = flattened ? key + "." : key + ".entry.";
        if (!has_prefix(entry_prefix)) return std::nullopt;
        std::string kn = s.key().location_name.empty() ? "key" : s.key().location_name;
        std::string vn = s.value().location_name.empty() ? "value" : s.value().location_name;
        json obj = json::object();
        for (long n : indexes(entry_prefix)) {
          std::string base = entry_prefix + std::to_string(n) + ".";
          auto k = flat_.find(base + kn);
          if (k == flat_.end()) continue;
          auto v = read(*s.value().shape, &s.value(), base + vn);
          if (error) return std::nullopt;
          obj[k->second] = v ? std::move(*v) : json();
        }
        return obj;
      }
      default: {
        auto it = flat_.find(key);
        if (it == flat_.end()) return std::nullopt;
        auto v = scalar_from_text(s, it->second);
        if (!v) {
          error = ServiceError("InvalidParameterValue",
                               "Value (" + it->second + ") for parameter " + key + " is invalid.");
          return std::nullopt;
        }
        return v;
      }
    }
  }

  const Flat& flat_;
};

}  // namespace

Outcome<ParsedRequest> parse_query(const ServiceModel& m, const http::Request& r) {
  Flat flat;
  for (auto& p : http::parse_query(r.raw_query())) flat[p.key] = std::move(p.value);
  std::string_view ctype = r.headers.get_or("content-type", "");
  if (!r.body.empty() && (ctype.empty() || ctype.find("x-www-form-urlencoded") != std::string_view::npos)) {
    for (auto& p : http::parse_query(r.body)) flat[p.key] = std::move(p.value);
  }
  auto action = flat.find("Action");
  if (action == flat.end() || action->second.empty()) {
    return ServiceError("MissingAction", "Missing Action parameter");
  }
  const Operation* op = m.find_operation(action->second);
  if (!op) {
    return ServiceError("InvalidAction", "The action " + action->second + " is not valid for this endpoint.");
  }
  ParsedRequest out;
  out.op = op;
  if (op->input) {
    QueryReader reader(flat);
    reader.read_structure(*op->input, "", out.params);
    if (reader.error) return std::move(*reader.error);
    // Old SQS clients post to the queue URL and leave QueueUrl out of the form.
    if (m.name == "sqs-query" && !out.params.contains("QueueUrl") && op->input->find_member("QueueUrl") &&
        r.path().size() > 1) {
      std::string host(r.host());
      out.params["QueueUrl"] = "http://" + (host.empty() ? std::string("localhost") : host) + std::string(r.path());
    }
    if (auto err = validate(m, *op->input, out.params)) return std::move(*err);
  }
  return out;
}

http::Response serialize_query_result(const ServiceModel& m, const Operation& op, OperationOutput&& out,
                                      std::string_view request_id) {
  http::Response res;
  res.status = out.status ? out.status : 200;
  res.headers.add("Content-Type", "text/xml");
  std::string& b = res.body;
  b.reserve(256);
  b.append("<?xml version=\"1.0\"?>\n<").append(op.name).append("Response xmlns=\"");
  xml::append_escaped(b, m.xml_namespace);
  b.append("\">");
  if (op.output) {
    std::string wrapper = op.result_wrapper.empty() ? op.name + "Result" : op.result_wrapper;
    b.append("<").append(wrapper).append(">");
    if (out.result.is_object()) xml::write_members(b, *op.output, out.result);
    b.append("</").append(wrapper).append(">");
  }
  b.append("<ResponseMetadata><RequestId>").append(request_id).append("</RequestId></ResponseMetadata></");
  b.append(op.name).append("Response>\n");
  for (auto& [k, v] : out.headers) res.headers.add(std::move(k), std::move(v));
  return res;
}

http::Response serialize_query_error(const ServiceModel& m, const ServiceError& e, std::string_view request_id) {
  http::Response res;
  res.status = e.http_status;
  res.headers.add("Content-Type", "text/xml");
  std::string& b = res.body;
  b.append("<?xml version=\"1.0\"?>\n<ErrorResponse xmlns=\"");
  xml::append_escaped(b, m.xml_namespace);
  b.append("\"><Error><Type>").append(e.sender_fault ? "Sender" : "Receiver").append("</Type><Code>");
  xml::append_escaped(b, wire_error_code(m, e));
  b.append("</Code><Message>");
  xml::append_escaped(b, e.message);
  b.append("</Message>");
  if (e.fields.is_object()) {
    for (const auto& [k, v] : e.fields.items()) {
      b.append("<").append(k).append(">");
      xml::append_escaped(b, v.is_string() ? v.get<std::string>() : dump(v));
      b.append("</").append(k).append(">");
    }
  }
  b.append("<Detail/></Error><RequestId>").append(request_id).append("</RequestId></ErrorResponse>\n");
  for (const auto& [k, v] : e.headers) res.headers.add(k, v);
  return res;
}

}  // namespace sless::protocol::detail
