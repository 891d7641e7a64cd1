#include "gateway/resolve.h"

#include <algorithm>
#include <vector>

#include "core/encoding.h"
#include "protocol/model.h"

namespace sless::gateway {
namespace {

struct PrefixRule {
  std::string_view prefix;
  std::string_view model;
};

// X-Amz-Target prefixes (the models' targetPrefix; a unit test checks they agree).
constexpr PrefixRule kTargets[] = {
    {"DynamoDB_20120810", "dynamodb"},
    {"DynamoDBStreams_20120810", "dynamodbstreams"},
    {"AmazonSQS", "sqs"},
    {"Kinesis_20131202", "kinesis"},
    {"AWSStepFunctions", "stepfunctions"},
    {"AWSEvents", "events"},
    {"AWSCognitoIdentityProviderService", "cognito-idp"},
    {"TrentService", "kms"},
    {"Logs_20140328", "logs"},
};

// SigV4 signing names. sqs, apigateway and dynamodb need a second look (see resolve()).
constexpr PrefixRule kSigningNames[] = {
    {"dynamodb", "dynamodb"}, {"s3", "s3"},       {"sns", "sns"},
    {"kinesis", "kinesis"},   {"lambda", "lambda"}, {"states", "stepfunctions"},
    {"events", "events"},     {"cognito-idp", "cognito-idp"}, {"kms", "kms"},
    {"logs", "logs"},
};

// API Gateway v1's top-level path segments ("restapis", "apikeys", ...), from its model.
const std::vector<std::string>& api_gateway_v1_segments() {
  static const std::vector<std::string> segments = [] {
    std::vector<std::string> out;
    const auto* m = protocol::ModelRegistry::instance().get("apigateway");
    for (const auto& [_, op] : m->operations) {
      if (op.path_segments.empty() || op.path_segments[0].is_label) continue;
      std::string_view first = op.path_segments[0].text;
      first.remove_prefix(1);
      std::string seg(first.substr(0, first.find_first_of("/?")));
      if (!seg.empty() && std::find(out.begin(), out.end(), seg) == out.end()) out.push_back(seg);
    }
    return out;
  }();
  return segments;
}

bool is_json_body(const http::Request& r) {
  std::string_view ct = r.headers.get_or("content-type", "");
  return ct.find("x-amz-json") != std::string_view::npos || r.headers.has("x-amz-target");
}

bool all_digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string_view host_without_port(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto close = host.find(']');
    return close == std::string_view::npos ? host : host.substr(0, close + 1);
  }
  auto colon = host.rfind(':');
  return colon == std::string_view::npos ? host : host.substr(0, colon);
}

bool is_ip_or_plain(std::string_view host) {
  if (host.find('.') == std::string_view::npos) return true;  // "localhost"
  for (char c : host) {
    if (!((c >= '0' && c <= '9') || c == '.' || c == '[' || c == ']' || c == ':')) return false;
  }
  return true;
}

// "/2015-03-31/functions/...": Lambda's date-versioned paths.
bool is_lambda_path(std::string_view path) {
  return path.size() > 12 && path[0] == '/' && all_digits(path.substr(1, 4)) && path[5] == '-' &&
         all_digits(path.substr(6, 2)) && path[8] == '-' && all_digits(path.substr(9, 2)) && path[11] == '/';
}

// The bucket of a virtual-hosted-style S3 host: "<bucket>.s3.<anything>", "<bucket>.s3-<region>...",
// or "<bucket>.localhost".
std::string virtual_host_bucket(std::string_view host) {
  host = host_without_port(host);
  if (is_ip_or_plain(host)) return {};
  for (std::string_view marker : {".s3.", ".s3-"}) {
    auto pos = host.find(marker);
    if (pos != std::string_view::npos && pos > 0) return std::string(host.substr(0, pos));
  }
  if (enc::ends_with(host, ".localhost") && host.find(".execute-api.") == std::string_view::npos) {
    std::string_view bucket = host.substr(0, host.size() - 10);
    if (!bucket.empty() && bucket != "s3") return std::string(bucket);
  }
  return {};
}

Resolution service(std::string_view model, const char* rule) {
  Resolution r;
  r.model = std::string(model);
  r.rule = rule;
  return r;
}

Resolution s3(const http::Request& req, const char* rule) {
  Resolution r = service("s3", rule);
  r.bucket = virtual_host_bucket(req.host());
  return r;
}

std::optional<Resolution> by_execute_api(const http::Request& req) {
  std::string_view host = host_without_port(req.host());
  auto pos = host.find(".execute-api.");
  if (pos != std::string_view::npos && pos > 0) {
    Resolution r;
    r.target = Target::kExecuteApi;
    r.api_id = std::string(host.substr(0, pos));
    r.rule = "host";
    return r;
  }
  std::string_view path = req.path();
  if (enc::starts_with(path, "/_aws/execute-api/")) {
    std::string_view rest = path.substr(18);
    Resolution r;
    r.target = Target::kExecuteApi;
    r.api_id = std::string(rest.substr(0, rest.find('/')));
    r.rule = "path";
    return r;
  }
  return std::nullopt;
}

std::optional<Resolution> by_signing_name(const http::Request& req, std::string_view name) {
  if (name == "sqs") return service(is_json_body(req) ? "sqs" : "sqs-query", "credential");
  if (name == "apigateway") {
    return service(enc::starts_with(req.path(), "/v2/") ? "apigatewayv2" : "apigateway", "credential");
  }
  if (name == "execute-api") return by_execute_api(req);
  if (name == "s3") return s3(req, "credential");
  for (const auto& rule : kSigningNames) {
    if (rule.prefix == name) return service(rule.model, "credential");
  }
  return std::nullopt;
}

std::optional<Resolution> by_path(const http::Request& req) {
  std::string_view path = req.path();
  if (is_lambda_path(path)) return service("lambda", "path");
  if (enc::starts_with(path, "/v2/")) return service("apigatewayv2", "path");
  // SQS queue URLs: /<12-digit account>/<queue name>
  if (path.size() > 14 && path[0] == '/' && all_digits(path.substr(1, 12)) && path[13] == '/' &&
      path.find('/', 14) == std::string_view::npos) {
    bool has_action = req.raw_query().find("Action=") != std::string_view::npos ||
                      req.body.find("Action=") != std::string::npos;
    if (is_json_body(req)) return service("sqs", "path");
    if (has_action) return service("sqs-query", "path");
  }
  // API Gateway v1 comes after the S3-looking paths above only because its resources are plain
  // words ("/restapis/..."): an unsigned request for a bucket of that name would be misread.
  if (path.size() > 1 && !req.headers.has("x-amz-content-sha256")) {
    std::string_view first = path.substr(1, path.find_first_of("/", 1) - 1);
    for (const auto& seg : api_gateway_v1_segments()) {
      if (first == seg) return service("apigateway", "path");
    }
  }
  return std::nullopt;
}

std::optional<Resolution> by_host(const http::Request& req) {
  std::string_view host = host_without_port(req.host());
  if (is_ip_or_plain(host)) return std::nullopt;
  if (!virtual_host_bucket(host).empty() && host.find(".s3") != std::string_view::npos) return s3(req, "host");
  auto dot = host.find('.');
  std::string_view first = host.substr(0, dot);
  if (first == "s3" || enc::starts_with(first, "s3-")) return s3(req, "host");
  if (first == "sqs") return service(is_json_body(req) ? "sqs" : "sqs-query", "host");
  if (first == "sns") return service("sns", "host");
  if (first == "lambda") return service("lambda", "host");
  if (first == "apigateway") {
    return service(enc::starts_with(req.path(), "/v2/") ? "apigatewayv2" : "apigateway", "host");
  }
  for (const auto& rule : kSigningNames) {
    if (rule.prefix == first) return service(rule.model, "host");
  }
  return std::nullopt;
}

std::optional<Resolution> by_action(const http::Request& req) {
  std::string action;
  for (const auto& p : http::parse_query(req.raw_query())) {
    if (p.key == "Action") action = p.value;
  }
  std::string_view ct = req.headers.get_or("content-type", "");
  if (action.empty() && req.method == "POST" && ct.find("x-www-form-urlencoded") != std::string_view::npos) {
    for (const auto& p : http::parse_query(req.body)) {
      if (p.key == "Action") action = p.value;
    }
  }
  if (action.empty()) return std::nullopt;
  auto& models = protocol::ModelRegistry::instance();
  bool sns = models.get("sns")->find_operation(action) != nullptr;
  bool sqs = models.get("sqs-query")->find_operation(action) != nullptr;
  if (sns && sqs) {  // AddPermission, RemovePermission: a queue URL tells SQS's apart
    bool queue = req.body.find("QueueUrl=") != std::string::npos ||
                 req.raw_query().find("QueueUrl=") != std::string_view::npos || req.path().size() > 1;
    return service(queue ? "sqs-query" : "sns", "action");
  }
  if (sns) return service("sns", "action");
  if (sqs) return service("sqs-query", "action");
  return std::nullopt;
}

}  // namespace

std::optional<Credential> credential_scope(const http::Request& r) {
  std::string_view scope;
  std::string from_query;
  if (auto auth = r.headers.get("authorization")) {
    // Every SDK writes "AWS4-HMAC-SHA256 Credential=..."; look there before searching the header
    // (string_view::find tries each of its 200-odd positions).
    constexpr std::string_view kCredential = "Credential=";
    constexpr size_t kUsual = sizeof("AWS4-HMAC-SHA256 ") - 1;
    size_t pos = auth->size() >= kUsual && auth->substr(kUsual, kCredential.size()) == kCredential
                     ? kUsual
                     : auth->find(kCredential);
    if (pos == std::string_view::npos) return std::nullopt;
    scope = auth->substr(pos + kCredential.size());
    size_t end = 0;  // up to ',' or ' ' (find_first_of looks each character up in the set)
    while (end < scope.size() && scope[end] != ',' && scope[end] != ' ') ++end;
    scope = scope.substr(0, end);
  } else {
    for (auto& p : http::parse_query(r.raw_query(), false)) {
      if (p.key == "X-Amz-Credential") from_query = std::move(p.value);
    }
    if (from_query.empty()) return std::nullopt;
    scope = from_query;
  }
  // AKID/20240101/us-east-1/sqs/aws4_request
  std::string_view parts[5];
  int n = 0;
  while (n < 5) {
    auto slash = scope.find('/');
    parts[n++] = scope.substr(0, slash);
    if (slash == std::string_view::npos) break;
    scope.remove_prefix(slash + 1);
  }
  if (n < 4) return std::nullopt;
  return Credential{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]), std::string(parts[3])};
}

std::optional<std::string> sigv2_access_key(const http::Request& r) {
  if (auto auth = r.headers.get("authorization")) {
    if (!enc::starts_with(*auth, "AWS ")) return std::nullopt;
    std::string_view rest = auth->substr(4);
    auto colon = rest.find(':');
    if (colon == std::string_view::npos || colon == 0) return std::nullopt;
    return std::string(rest.substr(0, colon));
  }
  if (r.raw_query().find("AWSAccessKeyId=") == std::string_view::npos) return std::nullopt;
  for (auto& p : http::parse_query(r.raw_query(), false)) {
    if (p.key == "AWSAccessKeyId" && !p.value.empty()) return std::move(p.value);
  }
  return std::nullopt;
}

Resolution resolve(const http::Request& req) {
  std::string_view path = req.path();
  if (path == "/_sless" || enc::starts_with(path, "/_sless/")) {
    Resolution r;
    r.target = Target::kInternal;
    r.rule = "internal";
    return r;
  }
  if (auto api = by_execute_api(req)) return *api;
  if (auto target = req.headers.get("x-amz-target")) {
    std::string_view prefix = target->substr(0, target->rfind('.'));
    for (const auto& rule : kTargets) {
      if (rule.prefix == prefix) return service(rule.model, "target");
    }
  }
  if (auto cred = credential_scope(req)) {
    if (auto r = by_signing_name(req, cred->service)) return *r;
  }
  if (auto r = by_path(req)) return *r;
  if (auto r = by_host(req)) return *r;
  if (auto r = by_action(req)) return *r;
  return s3(req, "s3");
}

}  // namespace sless::gateway
