#include "gateway/gateway.h"

#include <atomic>

#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
#include "gateway/resolve.h"
#include "http/aws_chunked.h"
#include "protocol/codec.h"
#include "protocol/model.h"

namespace sless::gateway {

using nlohmann::json;

namespace {

constexpr std::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";

http::Response json_response(int status, const json& body) {
  http::Response r;
  r.status = status;
  r.headers.add("Content-Type", "application/json");
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  return r;
}

void add_cors(http::Response& res, std::string_view origin) {
  if (origin.empty() || res.headers.has("access-control-allow-origin")) return;
  res.headers.add("Access-Control-Allow-Origin", "*");
  res.headers.add("Access-Control-Expose-Headers", "*");
}

http::Response preflight(const http::Request& req) {
  http::Response r;
  r.status = 200;
  r.headers.add("Access-Control-Allow-Origin", "*");
  r.headers.add("Access-Control-Allow-Methods", "HEAD,GET,PUT,POST,DELETE,OPTIONS,PATCH");
  std::string_view asked = req.headers.get_or("access-control-request-headers", "");
  r.headers.add("Access-Control-Allow-Headers", asked.empty() ? std::string("*") : std::string(asked));
  r.headers.add("Access-Control-Expose-Headers", "*");
  r.headers.add("Access-Control-Max-Age", "86400");
  return r;
}

// Does this operation carry a streamed blob as its input payload (S3 PutObject, UploadPart)?
bool has_streaming_payload(const protocol::Operation& op) {
  if (!op.input || op.input->payload.empty()) return false;
  const protocol::Member* m = op.input->find_member(op.input->payload);
  return m && m->shape->type == protocol::ShapeType::kBlob && (m->shape->streaming || m->streaming);
}

struct Finish {
  std::string method;
  std::string target;  // for the access log only: empty when info lines are off
  std::string origin;
  std::string model;
  std::string request_id;
  std::chrono::steady_clock::time_point start;
  http::Handler::Respond respond;
  // A service that decides CORS itself (S3 bucket rules), and the path-style path it sees.
  services::Service* cors_service = nullptr;
  std::string cors_path;

  void operator()(http::Response res, std::string_view op) const {
    // execute-api answers carry the API's own request id and CORS headers (its config decides).
    if (model == "s3") {
      res.headers.add("x-amz-request-id", request_id);
      res.headers.add("x-amz-id-2", request_id);
    } else if (model != "execute-api") {
      res.headers.add("x-amzn-RequestId", request_id);
    }
    if (model != "execute-api" && !origin.empty() && !(cors_service && cors_service->cors_headers(method, cors_path, origin, res))) {
      add_cors(res, origin);
    }
    if (log::enabled(log::Level::kInfo)) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start).count();
      log::info("{} {} {} {}{}{} {}.{}ms {}", method, target, res.status, model, op.empty() ? "" : ".", op, us / 1000,
                (us % 1000) / 100, request_id);
    }
    respond(std::move(res));
  }
};

// One allocation for what an operation call keeps until it answers: the once-only flag, the
// finishing step, and the request (lent to the service through an aliasing shared_ptr).
struct Pending {
  Pending(Finish f, http::Request r) : fin(std::move(f)), request(std::move(r)) {}
  std::atomic<bool> fired{false};
  Finish fin;
  http::Request request;
};

}  // namespace

Gateway::Gateway(const Config& config, services::Registry& registry, SystemClock& clock)
    : config_(config), registry_(registry), clock_(clock) {}

bool Gateway::wants_stream(const http::Request& header) {
  if (header.method != "PUT" && header.method != "POST") return false;
  auto cl = header.headers.get("content-length");
  if (cl && std::strtoull(std::string(*cl).c_str(), nullptr, 10) <= 64 * 1024 && !http::is_aws_chunked(header.headers)) {
    return false;
  }
  Resolution res = resolve(header);
  if (res.target != Target::kService || res.model != "s3") return false;
  const auto* model = protocol::ModelRegistry::instance().get("s3");
  http::Request probe;
  probe.method = header.method;
  probe.target = res.bucket.empty() ? header.target : "/" + res.bucket + header.target;
  probe.headers = header.headers;
  services::Service* service = registry_.by_model("s3");
  if (service && service->wants_raw(probe)) return true;
  const protocol::Operation* op = protocol::find_rest_operation(*model, probe);
  return op && has_streaming_payload(*op);
}

http::Response Gateway::reject(int status, std::string_view reason) {
  const char* code = status == 413 ? "RequestEntityTooLarge" : status == 431 ? "RequestHeaderSectionTooLarge" : "BadRequest";
  http::Response r = json_response(status, json{{"__type", code}, {"message", std::string(reason)}});
  r.headers.add("x-amzn-ErrorType", code);
  r.close = true;
  return r;
}

void Gateway::handle(http::Request req, Respond respond) {
  const bool access_log = log::enabled(log::Level::kInfo);
  Finish finish{req.method, access_log ? req.target : std::string(), std::string(req.headers.get_or("origin", "")), "",
                ids::uuid(), std::chrono::steady_clock::now(), std::move(respond), nullptr, std::string()};
  Resolution res = resolve(req);
  if (res.target == Target::kInternal) {
    finish.model = "_sless";
    handle_internal(req, finish.request_id, finish.respond);
    return;
  }
  bool is_preflight =
      req.method == "OPTIONS" && !finish.origin.empty() && req.headers.has("access-control-request-method");
  if (is_preflight && res.target != Target::kService && res.target != Target::kExecuteApi) {
    finish.model = res.model;
    finish(preflight(req), "preflight");
    return;
  }
  if (res.target == Target::kExecuteApi) {
    finish.model = "execute-api";
    if (execute_api_) {
      auto f = std::make_shared<Finish>(std::move(finish));
      execute_api_(res.api_id, std::move(req), [f](http::Response r) { (*f)(std::move(r), ""); });
    } else {
      finish(json_response(404, json{{"message", "Not Found"}}), "");
    }
    return;
  }
  finish.model = res.model;
  const protocol::ServiceModel* model = protocol::ModelRegistry::instance().get(res.model);
  services::Service* service = registry_.by_model(res.model);
  if (!model || !service) {
    finish(json_response(404, json{{"message", "unknown service " + res.model}}), "");
    return;
  }
  bool head = req.method == "HEAD";
  protocol::BodyEncoding encoding = protocol::body_encoding(*model, req);  // CBOR in, CBOR out

  // S3 virtual-hosted style: the bucket moves from the Host into the path.
  if (!res.bucket.empty()) req.target = "/" + res.bucket + (req.target.empty() ? "/" : req.target);
  if (!finish.origin.empty()) {
    finish.cors_service = service;
    finish.cors_path = std::string(req.path());
  }
  if (is_preflight) {
    http::Response out;
    finish(service->cors_preflight(req, out) ? std::move(out) : preflight(req), "preflight");
    return;
  }

  // aws-chunked bodies are decoded here, so that codecs and services see the payload only.
  if (http::is_aws_chunked(req.headers)) {
    if (req.stream) {
      req.trailers = std::make_shared<http::Headers>();
      req.stream = http::decode_aws_chunked(std::move(req.stream), req.trailers);
    } else {
      http::AwsChunkedDecoder decoder;
      std::string payload;
      if (!decoder.feed(req.body, payload) || !decoder.done()) {
        ServiceError e("IncompleteBody", "The request body is not valid aws-chunked encoding: " +
                                             (decoder.error().empty() ? std::string("truncated") : decoder.error()));
        finish(protocol::serialize_error(*model, nullptr, e, finish.request_id, head, encoding), "");
        return;
      }
      req.body = std::move(payload);
      for (const auto& [k, v] : decoder.trailers().entries()) req.headers.add(k, v);
    }
    http::strip_aws_chunked_encoding(req.headers);
  }

  if (service->wants_raw(req)) {
    services::RawInvocation raw;
    raw.ctx = make_context(req, res.model, finish.request_id);
    raw.request = std::make_shared<http::Request>(std::move(req));
    auto fired = std::make_shared<std::atomic<bool>>(false);
    auto fin = std::make_shared<Finish>(std::move(finish));
    raw.respond = [fired, fin](http::Response r) {
      if (!fired->exchange(true)) (*fin)(std::move(r), "");
    };
    try {
      service->handle_raw(std::move(raw));
    } catch (const std::exception& e) {
      log::error("{} raw request threw: {} [{}]", model->name, e.what(), fin->request_id);
      if (!fired->exchange(true)) {
        (*fin)(protocol::serialize_error(*model, nullptr, ServiceError::internal("internal error"), fin->request_id,
                                         head),
               "");
      }
    }
    return;
  }

  auto parsed = protocol::parse_request(*model, req);
  if (!parsed.ok()) {
    finish(protocol::serialize_error(*model, nullptr, parsed.error(), finish.request_id, head, encoding), "");
    return;
  }
  const protocol::Operation* op = parsed.value().op;

  services::Invocation inv;
  inv.ctx = make_context(req, res.model, finish.request_id);
  inv.ctx.operation = op->name;
  inv.op = op;
  inv.params = std::move(parsed.value().params);

  auto state = std::make_shared<Pending>(std::move(finish), std::move(req));
  inv.request = std::shared_ptr<http::Request>(state, &state->request);
  Finish* fin = &state->fin;
  inv.done = [state, model, op, head, encoding](Outcome<protocol::OperationOutput> out) {
    if (state->fired.exchange(true)) return;
    const Finish* fin = &state->fin;
    http::Response r;
    try {
      r = out.ok() ? protocol::serialize_result(*model, *op, std::move(out).value(), fin->request_id, encoding)
                   : protocol::serialize_error(*model, op, out.error(), fin->request_id, head, encoding);
    } catch (const std::exception& e) {
      log::error("serializing {}.{} failed: {} [{}]", model->name, op->name, e.what(), fin->request_id);
      r = protocol::serialize_error(*model, op, ServiceError::internal("internal error"), fin->request_id, head,
                                    encoding);
    }
    (*fin)(std::move(r), op->name);
  };
  try {
    service->invoke(std::move(inv));
  } catch (const std::exception& e) {
    log::error("{}.{} threw: {} [{}]", model->name, op->name, e.what(), fin->request_id);
    if (!state->fired.exchange(true)) {
      (*fin)(protocol::serialize_error(*model, op, ServiceError::internal("internal error"), fin->request_id, head,
                                       encoding),
             op->name);
    }
  }
}

services::RequestContext Gateway::make_context(const http::Request& req, const std::string& model,
                                               const std::string& request_id) const {
  services::RequestContext ctx;
  auto cred = credential_scope(req);
  std::optional<std::string> v2 = cred ? std::nullopt : sigv2_access_key(req);
  ctx.request_id = request_id;
  ctx.account = ids::account_from_access_key(cred ? std::string_view(cred->access_key)
                                             : v2 ? std::string_view(*v2)
                                                  : std::string_view());
  ctx.region = cred && !cred->region.empty() ? cred->region : config_.region;
  ctx.service = model;
  std::string_view host = req.host();
  ctx.endpoint = "http://" + (host.empty() ? config_.host + ":" + std::to_string(config_.port) : std::string(host));
  ctx.now_ms = clock_.now_ms();
  return ctx;
}

void Gateway::handle_internal(http::Request& req, const std::string& request_id, Respond& respond) {
  std::string_view path = req.path();
  http::Response res;
  if (path == "/_sless/health" && (req.method == "GET" || req.method == "HEAD")) {
    res = health();
  } else if (path == "/_sless/reset" && req.method == "POST") {
    std::string service;
    for (const auto& p : http::parse_query(req.raw_query())) {
      if (p.key == "service") service = p.value;
    }
    Status st = registry_.reset(service);
    if (st.is_not_found()) {
      res = json_response(404, json{{"error", st.message()}});
    } else if (!st.is_ok()) {
      res = json_response(500, json{{"error", st.to_string()}});
    } else {
      res = json_response(200, json{{"reset", service.empty() ? json("all") : json(service)}});
    }
  } else if (path == "/_sless/clock" && (req.method == "POST" || req.method == "GET")) {
    // Tests move the daemon's clock forward to fire schedules, expire messages and records.
    int64_t advance = 0;
    for (const auto& p : http::parse_query(req.raw_query())) {
      if (p.key == "advance_ms") advance = std::strtoll(p.value.c_str(), nullptr, 10);
    }
    if (advance < 0) {
      res = json_response(400, json{{"error", "the clock only moves forward"}});
    } else {
      if (advance > 0) {
        clock_.advance_ms(advance);
        registry_.clock_changed();
      }
      res = json_response(200, json{{"now_ms", clock_.now_ms()}});
    }
  } else {
    res = json_response(404, json{{"error", "no such endpoint: " + req.method + " " + std::string(path)}});
  }
  res.headers.add("x-amzn-RequestId", request_id);
  log::info("{} {} {} _sless", req.method, req.target, res.status);
  respond(std::move(res));
}

http::Response Gateway::health() const {
  json services = json::object();
  for (const auto& s : registry_.all()) {
    json entry = s->describe();
    entry["state"] = s->implemented_count() > 0 ? "running" : "unimplemented";
    entry["implemented_operations"] = s->implemented_count();
    services[std::string(s->name())] = std::move(entry);
  }
  auto uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return json_response(200, json{{"version", SLESS_VERSION},
                                 {"uptime_seconds", uptime},
                                 {"data_dir", config_.in_memory ? json(nullptr) : json(config_.data_dir)},
                                 {"in_memory", config_.in_memory},
                                 {"region", config_.region},
                                 {"services", std::move(services)}});
}

}  // namespace sless::gateway
