// REST-JSON (Lambda, API Gateway) and REST-XML (S3).
//
//   METHOD /path/{Label}/{Greedy+}?literal   ──route_rest──▶ operation (most specific match)
//     uri labels     ─┐
//     query string   ─┼─▶ members by location (uri / querystring / header / headers prefix)
//     headers        ─┘
//     body           ──▶ the payload member (raw blob, string, or a JSON / XML structure), or
//                        the remaining body members as one JSON object (REST-JSON)
//   result tree ──▶ status code, headers from header members, body from the payload or the
//                   body members (JSON object, or an XML document for REST-XML)
#include <algorithm>

#include "core/encoding.h"
#include "core/time_format.h"
#include "protocol/internal.h"
#include "protocol/xml.h"

namespace sless::protocol::detail {

using nlohmann::json;

namespace {

// ---- routing ----

// A candidate operation's path match. Labels are views: the label's name into the model, its value
// into the request's path, still percent-encoded. Only the chosen operation's values are decoded:
// S3 has some forty GET operations, and most of them match a bucket label before they fail.
struct Match {
  std::vector<std::pair<std::string_view, std::string_view>> labels;
  int literal_chars = 0;
};

bool match_path(const std::vector<UriSegment>& segs, size_t i, std::string_view path, Match& m) {
  if (i == segs.size()) {
    return path.empty() || path == "/";
  }
  const UriSegment& seg = segs[i];
  if (!seg.is_label) {
    if (enc::starts_with(path, seg.text)) {
      m.literal_chars += static_cast<int>(seg.text.size());
      return match_path(segs, i + 1, path.substr(seg.text.size()), m);
    }
    // "/{Bucket}/" against "/bucket": a trailing literal "/" may be absent.
    if (i + 1 == segs.size() && seg.text == "/" && path.empty()) return true;
    return false;
  }
  if (seg.greedy) {
    // A greedy label takes everything up to the next literal (normally the end).
    if (i + 1 == segs.size()) {
      if (path.empty()) return false;
      m.labels.emplace_back(seg.text, path);
      return true;
    }
    const std::string& next = segs[i + 1].text;
    auto pos = path.rfind(next);
    if (pos == std::string_view::npos || pos == 0) return false;
    m.labels.emplace_back(seg.text, path.substr(0, pos));
    return match_path(segs, i + 1, path.substr(pos), m);
  }
  size_t end = path.find('/');
  std::string_view value = path.substr(0, end);
  if (value.empty()) return false;
  m.labels.emplace_back(seg.text, value);
  return match_path(segs, i + 1, end == std::string_view::npos ? std::string_view() : path.substr(end), m);
}

bool has_query_key(const std::vector<http::QueryParam>& q, std::string_view key) {
  return std::any_of(q.begin(), q.end(), [&](const auto& p) { return p.key == key; });
}

// Members that must be present for the operation to be the one meant: required query-string
// and header members (S3's uploadId tells UploadPart from PutObject; x-amz-copy-source tells
// CopyObject from PutObject).
int requirement_score(const Operation& op, const http::Request& r, const std::vector<http::QueryParam>& q,
                      bool* satisfied) {
  *satisfied = true;
  int score = 0;
  for (const auto& [k, v] : op.uri_query) {
    if (k == "x-id") continue;
    if (!has_query_key(q, k)) {
      *satisfied = false;
      return 0;
    }
    score += 100;
  }
  if (!op.input) return score;
  for (const auto& mem : op.input->members) {
    if (!mem.required) continue;
    if (mem.location == Location::kQueryString) {
      if (has_query_key(q, mem.location_name)) {
        score += 10;
      } else {
        *satisfied = false;
      }
    } else if (mem.location == Location::kHeader) {
      if (r.headers.has(mem.location_name)) {
        score += 10;
      } else {
        *satisfied = false;
      }
    }
  }
  return score;
}

}  // namespace

const Operation* route_rest(const ServiceModel& m, const http::Request& r,
                            std::vector<std::pair<std::string, std::string>>* labels) {
  auto query = http::parse_query(r.raw_query());
  std::string_view x_id;
  for (const auto& p : query) {
    if (p.key == "x-id") x_id = p.value;
  }
  std::string_view path = r.path();
  const Operation* best = nullptr;
  bool best_satisfied = false;
  long best_score = -1;
  Match match;  // reused: its label storage is allocated once
  Match best_match;
  const std::vector<RouteGroup>* groups = m.routes_for(r.method);
  if (groups == nullptr) return nullptr;
  for (const RouteGroup& group : *groups) {
    match.labels.clear();
    match.literal_chars = 0;
    if (!match_path(*group.segments, 0, path, match)) continue;
    for (const Operation* candidate : group.operations) {
      const Operation& op = *candidate;
      bool satisfied = false;
      long score = requirement_score(op, r, query, &satisfied);
      score = score * 1000 + match.literal_chars;
      if (!x_id.empty() && x_id == op.name) score += 1000000000;
      // A candidate whose required members are all there beats one that lacks some; among equals,
      // a current operation beats a deprecated one, then the name decides (deterministic).
      bool better = (satisfied && !best_satisfied) ||
                    (satisfied == best_satisfied &&
                     (score > best_score ||
                      (score == best_score && best &&
                       (best->deprecated != op.deprecated ? best->deprecated : op.name < best->name))));
      if (better || !best) {
        best = &op;
        best_satisfied = satisfied;
        best_score = score;
        best_match.labels.assign(match.labels.begin(), match.labels.end());
        best_match.literal_chars = match.literal_chars;
      }
    }
  }
  if (best && labels) {
    labels->clear();
    for (const auto& [name, raw] : best_match.labels) labels->emplace_back(std::string(name), enc::percent_decode(raw));
  }
  return best;
}

namespace {

// ---- JSON renames (API Gateway's camelCase wire names) ----

void rename_json(const Shape& s, json& v, bool to_wire);

void rename_value(const Shape& s, json& v, bool to_wire) {
  if (s.type == ShapeType::kStructure) {
    rename_json(s, v, to_wire);
  } else if (s.type == ShapeType::kList && v.is_array()) {
    for (auto& x : v) rename_value(*s.member().shape, x, to_wire);
  } else if (s.type == ShapeType::kMap && v.is_object()) {
    for (auto& [_, x] : v.items()) rename_value(*s.value().shape, x, to_wire);
  }
}

void rename_json(const Shape& s, json& v, bool to_wire) {
  if (!v.is_object() || s.document) return;
  json out = json::object();
  for (const auto& m : s.members) {
    if (m.location != Location::kBody) continue;
    const std::string& from = to_wire ? m.name : m.wire_name();
    const std::string& to = to_wire ? m.wire_name() : m.name;
    auto it = v.find(from);
    if (it == v.end()) continue;
    json child = std::move(*it);
    rename_value(*m.shape, child, to_wire);
    out[to] = std::move(child);
  }
  v = std::move(out);
}

// ---- binding ----

std::optional<ServiceError> bind_text(const Member& m, std::string_view text, json& params) {
  const Shape& s = *m.shape;
  if (s.type == ShapeType::kList) {
    json arr = json::array();
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      std::string_view part = text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
      if (auto v = scalar_from_text(*s.member().shape, part)) arr.push_back(std::move(*v));
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    params[m.name] = std::move(arr);
    return std::nullopt;
  }
  if (m.json_value) {
    auto decoded = enc::base64_decode(text);
    bool too_deep = false;
    json j = decoded ? parse_client_json(*decoded, &too_deep) : json(json::value_t::discarded);
    if (j.is_discarded()) {
      return ServiceError("SerializationException", "Header " + m.location_name + " is not base64-encoded JSON");
    }
    params[m.name] = std::move(j);
    return std::nullopt;
  }
  auto v = scalar_from_text(s, text);
  if (!v) {
    return ServiceError(s.type == ShapeType::kTimestamp || s.type == ShapeType::kBoolean ? "InvalidArgument"
                                                                                          : "SerializationException",
                        "Invalid value for " + (m.location_name.empty() ? m.name : m.location_name) + ": " +
                            std::string(text));
  }
  params[m.name] = std::move(*v);
  return std::nullopt;
}

}  // namespace

Outcome<ParsedRequest> parse_rest(const ServiceModel& m, const http::Request& r) {
  std::vector<std::pair<std::string, std::string>> labels;
  const Operation* op = route_rest(m, r, &labels);
  if (!op) {
    if (m.protocol == Protocol::kRestXml) {
      return ServiceError("MethodNotAllowed", "The specified method is not allowed against this resource.", 405);
    }
    return ServiceError("UnknownOperationException",
                        "No operation matches " + r.method + " " + std::string(r.path()), 404);
  }
  ParsedRequest out;
  out.op = op;
  if (!op->input) return out;
  const Shape& in = *op->input;
  json& params = out.params;
  std::vector<http::QueryParam> query;
  bool query_parsed = false;
  std::vector<std::string> bound_query_keys;
  const Member* query_map = nullptr;
  for (const auto& mem : in.members) {
    switch (mem.location) {
      case Location::kUri: {
        for (const auto& [label, value] : labels) {
          if (label == mem.location_name) {
            if (auto e = bind_text(mem, value, params)) return std::move(*e);
          }
        }
        break;
      }
      case Location::kQueryString: {
        if (!query_parsed) {
          query = http::parse_query(r.raw_query());
          query_parsed = true;
        }
        if (mem.shape->type == ShapeType::kMap) {
          query_map = &mem;
          break;
        }
        bound_query_keys.push_back(mem.location_name);
        if (mem.shape->type == ShapeType::kList) {
          json arr = json::array();
          for (const auto& p : query) {
            if (p.key == mem.location_name) {
              if (auto v = scalar_from_text(*mem.shape->member().shape, p.value)) arr.push_back(std::move(*v));
            }
          }
          if (!arr.empty()) params[mem.name] = std::move(arr);
          break;
        }
        for (const auto& p : query) {
          if (p.key == mem.location_name) {
            if (auto e = bind_text(mem, p.value, params)) return std::move(*e);
            break;
          }
        }
        break;
      }
      case Location::kHeader: {
        if (auto h = r.headers.get(mem.location_name)) {
          if (auto e = bind_text(mem, *h, params)) return std::move(*e);
        }
        break;
      }
      case Location::kHeaders: {
        json map = json::object();
        const std::string& prefix = mem.location_name;
        for (const auto& [k, v] : r.headers.entries()) {
          if (k.size() > prefix.size() && enc::iequals(std::string_view(k).substr(0, prefix.size()), prefix)) {
            map[enc::to_lower(std::string_view(k).substr(prefix.size()))] = v;
          }
        }
        if (!map.empty()) params[mem.name] = std::move(map);
        break;
      }
      default:
        break;
    }
  }
  if (query_map) {
    json map = json::object();
    for (const auto& p : query) {
      if (std::find(bound_query_keys.begin(), bound_query_keys.end(), p.key) != bound_query_keys.end()) continue;
      const Shape& vs = *query_map->shape->value().shape;
      if (vs.type == ShapeType::kList) {
        map[p.key].push_back(p.value);
      } else {
        map[p.key] = p.value;
      }
    }
    if (!map.empty()) params[query_map->name] = std::move(map);
  }

  // Body.
  std::string_view raw_payload;
  if (!in.payload.empty()) {
    const Member* pm = in.find_member(in.payload);
    if (pm && pm->shape->type == ShapeType::kBlob && (!r.body.empty() || r.stream)) raw_payload = pm->name;
    if (pm && !r.body.empty()) {
      const Shape& ps = *pm->shape;
      if (ps.type == ShapeType::kString) {
        params[pm->name] = r.body;
      } else if (ps.type == ShapeType::kStructure) {
        if (m.protocol == Protocol::kRestXml) {
          auto doc = xml::parse_document(r.body, ps);
          if (!doc.ok()) return std::move(doc).error();
          params[pm->name] = std::move(doc).value();
        } else {
          bool too_deep = false;
          json j = parse_client_json(r.body, &too_deep);
          if (j.is_discarded() || !j.is_object()) {
            return json_body_error(too_deep);
          }
          if (m.json_renames) rename_json(ps, j, /*to_wire=*/false);
          params[pm->name] = std::move(j);
        }
      }
      // blob payloads stay in the request body for the service.
    }
  } else if (!r.body.empty() && m.protocol == Protocol::kRestJson) {
    bool too_deep = false;
    json j = parse_client_json(r.body, &too_deep);
    if (j.is_discarded() || !j.is_object()) {
      return json_body_error(too_deep);
    }
    if (m.json_renames) rename_json(in, j, /*to_wire=*/false);
    for (const auto& mem : in.members) {
      if (mem.location != Location::kBody) continue;
      auto it = j.find(mem.name);
      if (it != j.end()) params[mem.name] = std::move(*it);
    }
  } else if (!r.body.empty() && m.protocol == Protocol::kRestXml && !op->input_location_name.empty()) {
    auto doc = xml::parse_document(r.body, in);
    if (!doc.ok()) return std::move(doc).error();
    for (auto& [k, v] : doc.value().items()) params[k] = std::move(v);
  }
  if (auto err = validate(m, in, params, raw_payload)) return std::move(*err);
  return out;
}

namespace {

std::string header_text(const Member& mem, const json& v) {
  const Shape& s = *mem.shape;
  if (mem.json_value) return enc::base64_encode(dump(v));
  if (s.type == ShapeType::kTimestamp && v.is_number()) {
    return format_timestamp(v.get<double>(), timestamp_format(s, &mem, TimestampFormat::kRfc822));
  }
  if (s.type == ShapeType::kList && v.is_array()) {
    std::string out;
    for (const auto& x : v) {
      if (!out.empty()) out += ",";
      out += xml::scalar_text(*s.member().shape, &s.member(), x);
    }
    return out;
  }
  return xml::scalar_text(s, &mem, v);
}

}  // namespace

http::Response serialize_rest_result(const ServiceModel& m, const Operation& op, OperationOutput&& out) {
  http::Response res;
  res.status = out.status ? out.status : op.response_code;
  bool xml_protocol = m.protocol == Protocol::kRestXml;
  const Shape* s = op.output;
  json& result = out.result;
  if (s && result.is_object()) {
    // The result holds a handful of members where the shape may list forty (GetObject): visit the
    // result's and find each in the shape, then write the headers in the shape's order.
    std::vector<std::pair<size_t, const json*>> present;
    present.reserve(result.size());
    for (auto it = result.begin(); it != result.end(); ++it) {
      if (it->is_null()) continue;
      const std::string& key = it.key();
      for (size_t i = 0; i < s->members.size(); ++i) {
        if (s->members[i].name == key) {
          present.emplace_back(i, &*it);
          break;
        }
      }
    }
    std::sort(present.begin(), present.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    for (const auto& [index, value] : present) {
      const Member& mem = s->members[index];
      const json* it = value;
      if (mem.location == Location::kHeader) {
        res.headers.add(mem.location_name, header_text(mem, *it));
      } else if (mem.location == Location::kHeaders && it->is_object()) {
        for (const auto& [k, v] : it->items()) {
          res.headers.add(mem.location_name + k, v.is_string() ? v.get<std::string>() : dump(v));
        }
      } else if (mem.location == Location::kStatusCode && it->is_number_integer()) {
        res.status = it->get<int>();
      }
    }
  }
  // Body.
  if (out.payload_source) {
    res.source = std::move(out.payload_source);
  } else if (out.raw_payload) {
    res.body = std::move(*out.raw_payload);
  } else if (s && !s->payload.empty()) {
    const Member* pm = s->find_member(s->payload);
    auto it = pm ? result.find(pm->name) : result.end();
    if (pm && it != result.end() && !it->is_null()) {
      const Shape& ps = *pm->shape;
      if (ps.type == ShapeType::kStructure) {
        if (xml_protocol) {
          std::string root = !out.xml_root.empty() ? out.xml_root
                             : !pm->location_name.empty() ? pm->location_name
                             : !ps.location_name.empty() ? ps.location_name : pm->name;
          res.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
          xml::write_structure(res.body, root, m.xml_namespace.empty() ? "" : m.xml_namespace, ps, *it);
          res.headers.add("Content-Type", "application/xml");
        } else {
          json body = std::move(*it);
          if (m.json_renames) rename_json(ps, body, /*to_wire=*/true);
          res.body = dump(body);
          res.headers.add("Content-Type", "application/json");
        }
      } else if (it->is_string()) {
        res.body = it->get<std::string>();
      } else {
        res.body = dump(*it);
      }
    }
  } else if (s) {
    bool has_body_members = std::any_of(s->members.begin(), s->members.end(),
                                        [](const Member& mm) { return mm.location == Location::kBody; });
    if (has_body_members) {
      if (xml_protocol) {
        std::string root = !out.xml_root.empty() ? out.xml_root : !s->location_name.empty() ? s->location_name : s->name;
        res.body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
        xml::write_structure(res.body, root, m.xml_namespace.empty() ? "http://s3.amazonaws.com/doc/2006-03-01/" : m.xml_namespace, *s, result);
        res.headers.add("Content-Type", "application/xml");
      } else {
        json body = json::object();
        for (const auto& mem : s->members) {
          if (mem.location != Location::kBody) continue;
          auto it = result.find(mem.name);
          if (it != result.end()) body[mem.name] = std::move(*it);
        }
        if (m.json_renames) rename_json(*s, body, /*to_wire=*/true);
        res.body = dump(body);
        res.headers.add("Content-Type", "application/json");
      }
    }
  }
  for (auto& [k, v] : out.headers) res.headers.set(k, std::move(v));
  return res;
}

http::Response serialize_rest_json_error(const ServiceModel& m, const ServiceError& e) {
  http::Response res;
  res.status = e.http_status;
  res.headers.add("Content-Type", "application/json");
  res.headers.add("x-amzn-ErrorType", e.code);
  json body = e.fields.is_object() ? e.fields : json::object();
  body["message"] = e.message;
  if (m.name == "lambda" && !body.contains("Type")) body["Type"] = e.sender_fault ? "User" : "Service";
  res.body = dump(body);
  for (const auto& [k, v] : e.headers) res.headers.add(k, v);
  return res;
}

http::Response serialize_rest_xml_error(const ServiceModel& m, const ServiceError& e, std::string_view request_id) {
  http::Response res;
  res.status = e.http_status;
  res.headers.add("Content-Type", "application/xml");
  std::string& b = res.body;
  b.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>");
  xml::append_escaped(b, e.code);
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
  b.append("<RequestId>").append(request_id).append("</RequestId><HostId>");
  b.append(request_id).append("</HostId></Error>");
  for (const auto& [k, v] : e.headers) res.headers.add(k, v);
  return res;
}

}  // namespace sless::protocol::detail
