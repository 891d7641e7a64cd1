// Browser POST uploads (an HTML form with a base64 policy, as presigned POSTs from boto3's
// generate_presigned_post): multipart/form-data streamed through FormParser, the policy's
// expiration and conditions checked before the file is stored.
#include <algorithm>
#include <map>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/time_format.h"
#include "protocol/model.h"
#include "protocol/xml.h"
#include "services/s3/common.h"
#include "services/s3/errors.h"
#include "services/s3/form.h"
#include "services/s3/ingest.h"
#include "services/s3/provider.h"

namespace sless::services::s3 {

using nlohmann::json;

namespace {

constexpr size_t kMaxFieldBytes = 1 << 20;

ServiceError policy_denied(const std::string& why) {
  return ServiceError("AccessDenied", "Invalid according to Policy: " + why, 403);
}

std::string bucket_from_path(std::string_view path) {
  if (path.size() < 2) return {};
  path.remove_prefix(1);
  if (!path.empty() && path.back() == '/') path.remove_suffix(1);
  if (path.find('/') != std::string_view::npos) return {};
  return enc::percent_decode(path);
}

// Checks the policy document against the form fields (lower-cased names). The file's length is
// checked later (content-length-range), so its bounds are returned.
std::optional<ServiceError> check_policy(const std::string& policy_b64, const std::map<std::string, std::string>& fields,
                                         const std::string& bucket, int64_t now_ms, uint64_t* min_len,
                                         uint64_t* max_len) {
  auto text = enc::base64_decode(policy_b64);
  json policy = text ? json::parse(*text, nullptr, false) : json(json::value_t::discarded);
  if (policy.is_discarded() || !policy.is_object()) {
    return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.");
  }
  auto exp = policy.find("expiration");
  if (exp == policy.end() || !exp->is_string()) {
    return ServiceError("InvalidPolicyDocument", "Invalid Policy: Policy missing expiration.");
  }
  auto at = timefmt::parse(exp->get<std::string>());
  if (!at) return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid 'expiration' value: '" + exp->get<std::string>() + "'");
  if (*at < now_ms) return policy_denied("Policy expired.");
  auto conds = policy.find("conditions");
  if (conds == policy.end() || !conds->is_array()) {
    return ServiceError("InvalidPolicyDocument", "Invalid Policy: Policy missing conditions.");
  }
  auto value_of = [&](std::string name) -> std::string {
    name = enc::to_lower(name);
    if (!name.empty() && name.front() == '$') name.erase(0, 1);
    if (name == "bucket") return bucket;
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  std::vector<std::string> covered = {"bucket"};
  for (const auto& c : *conds) {
    if (c.is_object()) {
      for (const auto& [k, v] : c.items()) {
        std::string want = v.is_string() ? v.get<std::string>() : v.dump();
        covered.push_back(enc::to_lower(k));
        if (value_of(k) != want) return policy_denied("Policy Condition failed: [\"eq\", \"$" + k + "\", \"" + want + "\"]");
      }
      continue;
    }
    if (!c.is_array() || c.size() != 3) return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid Condition: " + c.dump());
    std::string op = c[0].is_string() ? enc::to_lower(c[0].get<std::string>()) : "";
    if (op == "content-length-range") {
      if (!c[1].is_number_integer() || !c[2].is_number_integer()) {
        return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid content-length-range: " + c.dump());
      }
      *min_len = c[1].get<uint64_t>();
      *max_len = c[2].get<uint64_t>();
      continue;
    }
    if (!c[1].is_string() || !c[2].is_string()) {
      return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid Condition: " + c.dump());
    }
    std::string field = c[1].get<std::string>();
    std::string want = c[2].get<std::string>();
    std::string have = value_of(field);
    std::string name = enc::to_lower(field);
    if (!name.empty() && name.front() == '$') name.erase(0, 1);
    covered.push_back(name);
    if (op == "eq") {
      if (have != want) return policy_denied("Policy Condition failed: " + c.dump());
    } else if (op == "starts-with") {
      if (!enc::starts_with(have, want)) return policy_denied("Policy Condition failed: " + c.dump());
    } else {
      return ServiceError("InvalidPolicyDocument", "Invalid Policy: Invalid Condition: " + c.dump());
    }
  }
  std::string extra;
  for (const auto& [name, _] : fields) {
    if (name == "policy" || name == "x-amz-signature" || name == "signature" || name == "awsaccesskeyid" ||
        name == "file" || enc::starts_with(name, "x-ignore-") || name == "x-amz-security-token") {
      continue;
    }
    if (std::find(covered.begin(), covered.end(), name) == covered.end()) extra += (extra.empty() ? "" : ", ") + name;
  }
  if (!extra.empty()) return policy_denied("Extra input fields: " + extra);
  return std::nullopt;
}

}  // namespace

bool S3Provider::wants_raw(const http::Request& head) const {
  if (head.method != "POST" || !head.raw_query().empty()) return false;
  if (FormParser::boundary_of(head.headers.get_or("content-type", "")).empty()) return false;
  return !bucket_from_path(head.path()).empty();
}

void S3Provider::handle_raw(RawInvocation inv) { post_object(std::move(inv)); }

struct PostFlow : std::enable_shared_from_this<PostFlow> {
  S3Provider* provider = nullptr;
  RawInvocation inv;
  std::shared_ptr<S3Provider::BucketState> bucket;
  std::unique_ptr<FormParser> parser;
  std::map<std::string, std::string> fields;  // lower-case names
  std::string field_name;
  std::string field_value;
  bool in_file = false;
  bool file_done = false;
  bool file_seen = false;
  std::string file_name;
  std::string file_type;
  std::optional<ServiceError> error;
  uint64_t min_len = 0;
  uint64_t max_len = UINT64_MAX;
  std::shared_ptr<Ingest> ingest;

  void respond_error(const ServiceError& e) {
    const auto* model = protocol::ModelRegistry::instance().get("s3");
    inv.respond(protocol::serialize_error(*model, nullptr, e, inv.ctx.request_id));
  }

  void feed_all(std::string_view data) {
    if (!parser->feed(data) && !error) error = ServiceError("MalformedPOSTRequest", "The body of your POST request is not well-formed multipart/form-data.");
  }

  void pump() {
    auto self = shared_from_this();
    inv.request->stream->read([self](bool ok, std::string_view chunk) {
      if (!ok) return self->respond_error(ServiceError("IncompleteBody", "The request body terminated unexpectedly"));
      if (chunk.empty()) return self->finish();
      self->feed_all(chunk);
      if (self->error) return self->respond_error(*self->error);
      self->pump();
    });
  }

  void finish();
};

void S3Provider::post_object(RawInvocation&& raw) {
  auto flow = std::make_shared<PostFlow>();
  flow->provider = this;
  flow->inv = std::move(raw);
  std::string bucket = bucket_from_path(flow->inv.request->path());
  flow->bucket = find_bucket(bucket);
  if (!flow->bucket) return flow->respond_error(err::no_such_bucket(bucket));
  std::string boundary = FormParser::boundary_of(flow->inv.request->headers.get_or("content-type", ""));
  flow->parser = std::make_unique<FormParser>(boundary);
  PostFlow* f = flow.get();
  flow->parser->on_begin = [this, f, bucket](const FormParser::PartHead& head) {
    if (f->file_seen) {  // S3 ignores every field after the file
      f->field_name.clear();
      return true;
    }
    if (!head.is_file || enc::to_lower(head.name) != "file") {
      f->field_name = enc::to_lower(head.name);
      f->field_value.clear();
      return true;
    }
    f->file_seen = true;
    f->in_file = true;
    f->file_name = head.filename;
    f->file_type = head.content_type;
    auto key = f->fields.find("key");
    if (key == f->fields.end() || key->second.empty()) {
      f->error = err::invalid_argument(
          "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
          "key", "");
      return false;
    }
    if (auto p = f->fields.find("policy"); p != f->fields.end()) {
      if (auto e = check_policy(p->second, f->fields, bucket, f->inv.ctx.now_ms, &f->min_len, &f->max_len)) {
        f->error = std::move(*e);
        return false;
      }
    }
    IngestOptions opts;
    opts.inline_limit = kInlineLimit;
    opts.max_size = std::min<uint64_t>(kMaxPutSize, f->max_len);
    f->ingest = std::make_shared<Ingest>(*bodies_, std::move(opts));
    return true;
  };
  flow->parser->on_data = [f](std::string_view data) {
    if (f->in_file) {
      if (!f->ingest->feed(data).is_ok()) {
        f->error = f->ingest->too_large()
                       ? ServiceError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
                       : err::internal("writing the upload failed");
        return false;
      }
      return true;
    }
    if (f->field_name.empty()) return true;
    if (f->field_value.size() + data.size() > kMaxFieldBytes) {
      f->error = ServiceError("MaxPostPreDataLengthExceeded",
                              "Your POST request fields preceding the upload file were too large.");
      return false;
    }
    f->field_value.append(data);
    return true;
  };
  flow->parser->on_end = [f]() {
    if (f->in_file) {
      f->in_file = false;
      f->file_done = true;
    } else if (!f->field_name.empty()) {
      f->fields[f->field_name] = std::move(f->field_value);
      f->field_value.clear();
    }
    return true;
  };
  if (flow->inv.request->stream) {
    flow->pump();
    return;
  }
  flow->feed_all(flow->inv.request->body);
  if (flow->error) return flow->respond_error(*flow->error);
  flow->finish();
}

void PostFlow::finish() {
  S3Provider& self = *provider;
  if (error) return respond_error(*error);
  if (!parser->done() || !file_done) {
    return respond_error(err::invalid_argument("POST requires exactly one file upload per request.", "file", "0"));
  }
  ingest->finish();
  if (ingest->size() < min_len) {
    return respond_error(ServiceError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
                             .with("ProposedSize", std::to_string(ingest->size()))
                             .with("MinSizeAllowed", std::to_string(min_len)));
  }
  if (ingest->size() > max_len) {
    return respond_error(ServiceError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
                             .with("ProposedSize", std::to_string(ingest->size()))
                             .with("MaxSizeAllowed", std::to_string(max_len)));
  }
  std::string key = fields["key"];
  if (auto pos = key.find("${filename}"); pos != std::string::npos) key.replace(pos, 11, file_name);
  if (auto e = check_key(key)) return respond_error(*e);
  json params = json::object();
  auto field = [&](const char* name) {
    auto it = fields.find(name);
    return it == fields.end() ? std::string() : it->second;
  };
  params["ContentType"] = !field("content-type").empty() ? field("content-type") : file_type;
  params["CacheControl"] = field("cache-control");
  params["ContentDisposition"] = field("content-disposition");
  params["ContentEncoding"] = field("content-encoding");
  params["Expires"] = field("expires");
  params["StorageClass"] = field("x-amz-storage-class");
  params["WebsiteRedirectLocation"] = field("x-amz-website-redirect-location");
  json meta = json::object();
  for (const auto& [name, value] : fields) {
    if (enc::starts_with(name, "x-amz-meta-")) meta[name.substr(11)] = value;
  }
  params["Metadata"] = std::move(meta);
  auto rec_or = record_from_params(params);
  if (!rec_or.ok()) return respond_error(rec_or.error());
  ObjectRecord rec = std::move(rec_or).value();
  rec.size = ingest->size();
  rec.etag = enc::hex_encode(ingest->md5());
  rec.last_modified_ms = self.env_->clock->now_ms();
  rec.owner = inv.ctx.account;
  if (Status st = ingest->commit(); !st.is_ok()) return respond_error(err::internal(st.to_string()));
  if (ingest->is_inline()) {
    rec.inline_body = ingest->take_inline();
  } else {
    rec.segments.push_back(Segment{ingest->body_id(), ingest->size()});
  }
  auto bmeta = bucket->get();
  {
    std::shared_lock objects(bucket->objects);
    if (self.find_bucket(bmeta->name) != bucket) return respond_error(err::no_such_bucket(bmeta->name));
    if (Status st = self.commit_object(*bucket, key, rec); !st.is_ok()) return respond_error(err::internal(st.to_string()));
  }
  ingest->release();
  std::string location = inv.ctx.endpoint + "/" + bmeta->name + "/" + enc::percent_encode(key, true);
  http::Response res;
  res.headers.add("ETag", rec.quoted_etag());
  res.headers.add("Location", location);
  if (!bmeta->versioning.empty()) res.headers.add("x-amz-version-id", rec.version_id);
  std::string redirect = field("success_action_redirect");
  if (redirect.empty()) redirect = field("redirect");
  std::string status = field("success_action_status");
  if (!redirect.empty()) {
    res.status = 303;
    std::string sep = redirect.find('?') == std::string::npos ? "?" : "&";
    res.headers.set("Location", redirect + sep + "bucket=" + enc::percent_encode(bmeta->name) +
                                    "&key=" + enc::percent_encode(key) + "&etag=" + enc::percent_encode(rec.quoted_etag()));
  } else if (status == "200") {
    res.status = 200;
  } else if (status == "201") {
    res.status = 201;
    res.headers.add("Content-Type", "application/xml");
    std::string& b = res.body;
    b = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<PostResponse><Location>";
    protocol::xml::append_escaped(b, location);
    b += "</Location><Bucket>";
    protocol::xml::append_escaped(b, bmeta->name);
    b += "</Bucket><Key>";
    protocol::xml::append_escaped(b, key);
    b += "</Key><ETag>";
    protocol::xml::append_escaped(b, rec.quoted_etag());
    b += "</ETag></PostResponse>";
  } else {
    res.status = 204;
  }
  inv.respond(std::move(res));
  self.emit(*bmeta, "ObjectCreated:Post", key, &rec, &inv.ctx);
}

}  // namespace sless::services::s3
