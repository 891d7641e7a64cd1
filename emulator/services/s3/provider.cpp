#include "services/s3/provider.h"

#include <algorithm>
#include <unordered_set>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/scheduler.h"
#include "core/time_format.h"
#include "services/s3/common.h"
#include "services/s3/cors.h"
#include "services/s3/errors.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::s3 {

using nlohmann::json;

S3Provider::S3Provider() {
  // buckets
  sync("CreateBucket", [this](Invocation& inv) { return create_bucket(inv); });
  sync("DeleteBucket", [this](Invocation& inv) { return delete_bucket(inv); });
  sync("HeadBucket", [this](Invocation& inv) { return head_bucket(inv); });
  sync("ListBuckets", [this](Invocation& inv) { return list_buckets(inv); });
  sync("GetBucketLocation", [this](Invocation& inv) { return get_bucket_location(inv); });
  register_bucket_configs();
  // objects
  on("PutObject", [this](Invocation&& inv) {
    if (auto e = check_presigned(inv)) {
      inv.done(std::move(*e));
      return;
    }
    put_object(std::move(inv));
  });
  sync("GetObject", [this](Invocation& inv) { return get_object(inv, false); });
  sync("HeadObject", [this](Invocation& inv) { return get_object(inv, true); });
  sync("DeleteObject", [this](Invocation& inv) { return delete_object_op(inv); });
  sync("DeleteObjects", [this](Invocation& inv) { return delete_objects(inv); });
  sync("CopyObject", [this](Invocation& inv) { return copy_object(inv); });
  sync("ListObjects", [this](Invocation& inv) { return list_objects(inv, false); });
  sync("ListObjectsV2", [this](Invocation& inv) { return list_objects(inv, true); });
  sync("ListObjectVersions", [this](Invocation& inv) { return list_object_versions(inv); });
  sync("GetObjectAttributes", [this](Invocation& inv) { return get_object_attributes(inv); });
  register_object_tagging();
  // multipart
  sync("CreateMultipartUpload", [this](Invocation& inv) { return create_multipart(inv); });
  on("UploadPart", [this](Invocation&& inv) {
    if (auto e = check_presigned(inv)) {
      inv.done(std::move(*e));
      return;
    }
    upload_part(std::move(inv));
  });
  sync("UploadPartCopy", [this](Invocation& inv) { return upload_part_copy(inv); });
  sync("CompleteMultipartUpload", [this](Invocation& inv) { return complete_multipart(inv); });
  sync("AbortMultipartUpload", [this](Invocation& inv) { return abort_multipart(inv); });
  sync("ListParts", [this](Invocation& inv) { return list_parts(inv); });
  sync("ListMultipartUploads", [this](Invocation& inv) { return list_multipart_uploads(inv); });
}

S3Provider::~S3Provider() = default;

void S3Provider::sync(std::string op, Sync fn) {
  on(std::move(op), [this, fn = std::move(fn)](Invocation&& inv) {
    if (auto e = check_presigned(inv)) {
      inv.done(std::move(*e));
      return;
    }
    inv.done(fn(inv));
  });
}

Status S3Provider::start(Env& env) {
  env_ = &env;
  store_ = env.store;
  fam_ = store_->family("s3");
  if (!fam_) return Status::internal("cannot open the s3 column family");
  bodies_ = BodyStore::open(env.files_dir.empty() ? std::string() : env.files_dir + "/s3");
  if (Status st = bodies_->start(); !st.is_ok()) return st;
  std::string lower = keys::bucket_prefix();
  auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
  for (it->seek_to_first(); it->valid(); it->next()) {
    auto b = Bucket::decode(it->value());
    if (!b) {
      log::warn("s3: skipping an unreadable bucket record");
      continue;
    }
    auto state = std::make_shared<BucketState>();
    state->set(std::make_shared<const Bucket>(std::move(*b)));
    buckets_[state->get()->name] = std::move(state);
  }
  if (Status st = it->status(); !st.is_ok()) return st;
  seq_.store(static_cast<uint64_t>(env.clock->now_ms()) * 1000);
  schedule_lifecycle(std::chrono::seconds(1));
  if (!env.files_dir.empty()) env.scheduler->post([this] { sweep_orphans(); });
  return Status::ok();
}

void S3Provider::stop() {
  stopping_.store(true);
  std::lock_guard lock(lifecycle_mu_);
  if (lifecycle_timer_ && env_) env_->scheduler->cancel(lifecycle_timer_);
  lifecycle_timer_ = 0;
}

Status S3Provider::reset() {
  {
    std::unique_lock lock(buckets_mu_);
    buckets_.clear();
  }
  if (Status st = store_->clear(fam_); !st.is_ok()) return st;
  return bodies_->clear();
}

json S3Provider::describe() const {
  std::shared_lock lock(buckets_mu_);
  return json{{"buckets", buckets_.size()}, {"bodies", env_ && !env_->files_dir.empty() ? "files" : "memory"}};
}

void S3Provider::sweep_orphans() {
  std::vector<std::string> files = bodies_->list(env_->clock->now_ms() - 60000);
  if (files.empty()) return;
  std::unordered_set<std::string> referenced;
  std::string lower = keys::everything();
  auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
  for (it->seek_to_first(); it->valid(); it->next()) {
    std::string_view v = it->value();
    if (auto rec = ObjectRecord::decode(v)) {
      for (const auto& s : rec->segments) referenced.insert(s.id);
    } else if (auto part = Part::decode(v)) {
      referenced.insert(part->body_id);
    }
  }
  if (!it->status().is_ok()) return;
  size_t removed = 0;
  for (const auto& id : files) {
    if (!referenced.count(id)) {
      bodies_->remove(id);
      ++removed;
    }
  }
  if (removed) log::info("s3: removed {} unreferenced body files", removed);
}

void S3Provider::add_event_sink(EventSink sink) { sinks_.push_back(std::move(sink)); }

// ---- common ----

std::optional<ServiceError> S3Provider::check_presigned(const Invocation& inv) const {
  std::string_view q = inv.request->raw_query();
  if (q.find("Expires=") == std::string_view::npos) return std::nullopt;
  std::string amz_date;
  std::string amz_expires;
  std::string v2_expires;
  for (const auto& p : http::parse_query(q)) {
    if (p.key == "X-Amz-Date") amz_date = p.value;
    if (p.key == "X-Amz-Expires") amz_expires = p.value;
    if (p.key == "Expires") v2_expires = p.value;
  }
  int64_t now = inv.ctx.now_ms;
  if (!amz_expires.empty()) {
    char* end = nullptr;
    long long secs = std::strtoll(amz_expires.c_str(), &end, 10);
    if (*end != '\0' || secs < 0) {
      return ServiceError("AuthorizationQueryParametersError", "X-Amz-Expires should be a number", 400);
    }
    if (secs > 604800) {
      return ServiceError("AuthorizationQueryParametersError",
                          "X-Amz-Expires must be less than a week (in seconds) that is 604800", 400);
    }
    auto signed_at = timefmt::parse(amz_date);
    if (!signed_at) {
      return ServiceError("AuthorizationQueryParametersError",
                          "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"", 400);
    }
    int64_t expiry = *signed_at + secs * 1000;
    if (now > expiry) {
      return ServiceError("AccessDenied", "Request has expired", 403)
          .with("X-Amz-Expires", amz_expires)
          .with("Expires", timefmt::iso8601(expiry))
          .with("ServerTime", timefmt::iso8601(now));
    }
    return std::nullopt;
  }
  if (!v2_expires.empty() && q.find("Signature=") != std::string_view::npos) {
    char* end = nullptr;
    long long at = std::strtoll(v2_expires.c_str(), &end, 10);
    if (*end != '\0') return ServiceError("AccessDenied", "Invalid date (should be seconds since epoch): " + v2_expires, 403);
    if (now > at * 1000) {
      return ServiceError("AccessDenied", "Request has expired", 403)
          .with("Expires", timefmt::iso8601(at * 1000))
          .with("ServerTime", timefmt::iso8601(now));
    }
  }
  return std::nullopt;
}

std::shared_ptr<S3Provider::BucketState> S3Provider::find_bucket(const std::string& name) const {
  std::shared_lock lock(buckets_mu_);
  auto it = buckets_.find(name);
  return it == buckets_.end() ? nullptr : it->second;
}

Outcome<std::shared_ptr<S3Provider::BucketState>> S3Provider::bucket_of(const json& params) const {
  std::string name = str(params, "Bucket");
  auto b = find_bucket(name);
  if (!b) return err::no_such_bucket(name);
  if (auto expected = str(params, "ExpectedBucketOwner"); !expected.empty() && expected != b->get()->owner) {
    return ServiceError("AccessDenied", "Access Denied", 403);
  }
  return b;
}

Status S3Provider::save_bucket(BucketState& b, const std::function<void(Bucket&)>& change) {
  std::lock_guard lock(b.write_mu);
  Bucket copy = *b.get();
  change(copy);
  if (Status st = store_->put(fam_, keys::bucket(copy.name), copy.encode()); !st.is_ok()) return st;
  b.set(std::make_shared<const Bucket>(std::move(copy)));
  return Status::ok();
}

std::mutex& S3Provider::key_lock(std::string_view bucket, std::string_view key) {
  size_t h = std::hash<std::string_view>()(bucket) * 31 + std::hash<std::string_view>()(key);
  return key_locks_[h % key_locks_.size()];
}

std::mutex& S3Provider::upload_lock(std::string_view upload_id) {
  return upload_locks_[std::hash<std::string_view>()(upload_id) % upload_locks_.size()];
}

uint64_t S3Provider::next_seq() {
  uint64_t now = static_cast<uint64_t>(env_->clock->now_ms()) * 1000;
  uint64_t cur = seq_.load();
  while (true) {
    uint64_t next = std::max(cur + 1, now);
    if (seq_.compare_exchange_weak(cur, next)) return next;
  }
}

// ---- records ----

std::optional<ObjectRecord> S3Provider::load_current(std::string_view bucket, std::string_view key) const {
  std::string value;
  if (!store_->get(fam_, keys::current(bucket, key), &value).is_ok()) return std::nullopt;
  return ObjectRecord::decode(value);
}

std::optional<ObjectRecord> S3Provider::load_version(std::string_view bucket, std::string_view key,
                                                     uint64_t seq) const {
  std::string value;
  if (!store_->get(fam_, keys::version(bucket, key, seq), &value).is_ok()) return std::nullopt;
  return ObjectRecord::decode(value);
}

std::vector<ObjectRecord> S3Provider::load_versions(std::string_view bucket, std::string_view key) const {
  std::vector<ObjectRecord> out;
  std::string lower = keys::versions_of(bucket, key);
  auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
  for (it->seek_to_first(); it->valid(); it->next()) {
    if (auto r = ObjectRecord::decode(it->value())) out.push_back(std::move(*r));
  }
  return out;
}

Outcome<ObjectRecord> S3Provider::resolve_object(const BucketState& b, const std::string& key, const json& params,
                                                 bool head) const {
  auto meta = b.get();
  std::string version = str(params, "VersionId");
  if (version.empty()) {
    if (auto r = load_current(meta->name, key)) return std::move(*r);
    ServiceError e = err::no_such_key(key);
    if (!meta->versioning.empty()) {
      auto versions = load_versions(meta->name, key);
      if (!versions.empty() && versions.front().delete_marker) {
        e.headers.emplace_back("x-amz-delete-marker", "true");
        e.headers.emplace_back("x-amz-version-id", versions.front().version_id);
      }
    }
    return e;
  }
  std::optional<ObjectRecord> found;
  if (meta->versioning.empty()) {
    if (version != "null") return err::invalid_version_id(version);
    found = load_current(meta->name, key);
  } else if (version == "null") {
    for (auto& r : load_versions(meta->name, key)) {
      if (r.version_id == "null") {
        found = std::move(r);
        break;
      }
    }
  } else {
    auto seq = version_seq(version);
    if (!seq) return err::invalid_version_id(version);
    found = load_version(meta->name, key, *seq);
    if (found && found->version_id != version) found.reset();
  }
  if (!found) return err::no_such_version(key, version);
  if (found->delete_marker) {
    ServiceError e("MethodNotAllowed", "The specified method is not allowed against this resource.", 405);
    e.fields["Method"] = head ? "HEAD" : "GET";
    e.fields["ResourceType"] = "DeleteMarker";
    e.headers.emplace_back("x-amz-delete-marker", "true");
    e.headers.emplace_back("x-amz-version-id", found->version_id);
    e.headers.emplace_back("Last-Modified", timefmt::rfc822(found->last_modified_ms));
    return e;
  }
  return std::move(*found);
}

void S3Provider::drop_bodies(const ObjectRecord& rec) {
  for (const auto& s : rec.segments) bodies_->remove(s.id);
}

Status S3Provider::commit_object(BucketState& b, const std::string& key, ObjectRecord& rec,
                                 const std::function<void(storage::WriteBatch&)>& extra) {
  auto meta = b.get();
  const std::string& bucket = meta->name;
  std::vector<ObjectRecord> garbage;
  {
    std::lock_guard lock(key_lock(bucket, key));
    storage::WriteBatch batch;
    if (meta->versioning.empty()) {
      rec.version_id = "null";
      if (auto old = load_current(bucket, key)) garbage.push_back(std::move(*old));
    } else {
      rec.seq = next_seq();
      rec.version_id = meta->versioning == "Enabled" ? make_version_id(rec.seq) : "null";
      if (rec.version_id == "null") {
        for (auto& v : load_versions(bucket, key)) {
          if (v.version_id == "null") {
            batch.del(fam_, keys::version(bucket, key, v.seq));
            garbage.push_back(std::move(v));
          }
        }
      }
      batch.put(fam_, keys::version(bucket, key, rec.seq), rec.encode());
    }
    if (!rec.delete_marker) {
      batch.put(fam_, keys::current(bucket, key), rec.encode());
    } else {
      batch.del(fam_, keys::current(bucket, key));
    }
    if (extra) extra(batch);
    if (Status st = store_->write(batch); !st.is_ok()) return st;
  }
  for (const auto& g : garbage) drop_bodies(g);
  return Status::ok();
}

Outcome<S3Provider::DeleteResult> S3Provider::delete_object(BucketState& b, const std::string& key,
                                                            const std::string& version_id) {
  auto meta = b.get();
  const std::string& bucket = meta->name;
  DeleteResult result;
  result.versioned = !meta->versioning.empty();
  if (!result.versioned) {
    if (!version_id.empty() && version_id != "null") return err::invalid_version_id(version_id);
    std::optional<ObjectRecord> old;
    {
      std::lock_guard lock(key_lock(bucket, key));
      old = load_current(bucket, key);
      if (!old) return result;
      if (Status st = store_->del(fam_, keys::current(bucket, key)); !st.is_ok()) return err::internal(st.to_string());
    }
    drop_bodies(*old);
    return result;
  }
  if (version_id.empty()) {
    ObjectRecord marker;
    marker.delete_marker = true;
    marker.last_modified_ms = env_->clock->now_ms();
    marker.owner = meta->owner;
    if (Status st = commit_object(b, key, marker); !st.is_ok()) return err::internal(st.to_string());
    result.delete_marker = true;
    result.version_id = marker.version_id;
    return result;
  }
  std::optional<ObjectRecord> removed;
  {
    std::lock_guard lock(key_lock(bucket, key));
    auto versions = load_versions(bucket, key);
    auto it = std::find_if(versions.begin(), versions.end(),
                           [&](const ObjectRecord& r) { return r.version_id == version_id; });
    if (it == versions.end()) {
      if (version_id != "null" && !version_seq(version_id)) return err::invalid_version_id(version_id);
      result.version_id = version_id;
      return result;
    }
    bool was_latest = it == versions.begin();
    storage::WriteBatch batch;
    batch.del(fam_, keys::version(bucket, key, it->seq));
    if (was_latest) {
      auto next = std::next(it);
      if (next != versions.end() && !next->delete_marker) {
        batch.put(fam_, keys::current(bucket, key), next->encode());
      } else {
        batch.del(fam_, keys::current(bucket, key));
      }
    }
    if (Status st = store_->write(batch); !st.is_ok()) return err::internal(st.to_string());
    removed = std::move(*it);
  }
  result.version_id = version_id;
  result.delete_marker = removed->delete_marker;
  drop_bodies(*removed);
  return result;
}

void S3Provider::emit(const Bucket& bucket, const std::string& event, const std::string& key,
                      const ObjectRecord* rec, const RequestContext* ctx) {
  if (sinks_.empty() || bucket.notification.is_null()) return;
  ObjectEvent e;
  e.event_name = event;
  e.bucket = bucket.name;
  e.bucket_owner = bucket.owner;
  e.region = bucket.region;
  e.key = key;
  if (rec) {
    e.size = rec->size;
    e.etag = rec->etag;
    if (!bucket.versioning.empty()) e.version_id = rec->version_id;
  }
  char seq[24];
  std::snprintf(seq, sizeof seq, "%016llX", static_cast<unsigned long long>(next_seq()));
  e.sequencer = seq;
  e.time_ms = env_->clock->now_ms();
  if (ctx) {
    e.request_id = ctx->request_id;
    e.principal = ctx->account;
  }
  for (const auto& target : match_notification(bucket.notification, e)) {
    for (const auto& sink : sinks_) sink(target, e);
  }
}

// ---- CORS ----

bool S3Provider::cors_preflight(const http::Request& req, http::Response& out) {
  std::string_view path = req.path();
  std::string bucket = enc::percent_decode(path.substr(1, path.find('/', 1) == std::string_view::npos
                                                              ? std::string_view::npos
                                                              : path.find('/', 1) - 1));
  std::string origin(req.headers.get_or("origin", ""));
  std::string method(req.headers.get_or("access-control-request-method", ""));
  std::string requested(req.headers.get_or("access-control-request-headers", ""));
  auto forbidden = [&](const std::string& message) {
    ServiceError e("AccessForbidden", message, 403);
    e.fields["Method"] = method;
    e.fields["ResourceType"] = "BUCKET";
    const auto* model = protocol::ModelRegistry::instance().get("s3");
    out = protocol::serialize_error(*model, nullptr, e, "");
    return true;
  };
  auto b = bucket.empty() ? nullptr : find_bucket(bucket);
  if (!b) {
    if (bucket.empty()) return false;
    return forbidden("CORSResponse: Bucket not found");
  }
  auto meta = b->get();
  if (meta->cors.is_null()) return forbidden("CORSResponse: CORS is not enabled for this bucket.");
  std::vector<std::string> headers;
  for (std::string_view rest = requested; !rest.empty();) {
    auto comma = rest.find(',');
    std::string_view h = rest.substr(0, comma);
    while (!h.empty() && h.front() == ' ') h.remove_prefix(1);
    while (!h.empty() && h.back() == ' ') h.remove_suffix(1);
    if (!h.empty()) headers.emplace_back(h);
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  const json* rule = find_cors_rule(meta->cors, origin, method, headers);
  if (!rule) {
    return forbidden(
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request "
        "method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the "
        "resource's CORS spec.");
  }
  out = http::Response{};
  out.status = 200;
  add_cors_response_headers(*rule, origin, true, requested, out.headers);
  return true;
}

bool S3Provider::cors_headers(std::string_view method, std::string_view path, std::string_view origin,
                              http::Response& res) {
  if (path.size() < 2) return true;
  auto slash = path.find('/', 1);
  std::string bucket = enc::percent_decode(path.substr(1, slash == std::string_view::npos ? std::string_view::npos
                                                                                           : slash - 1));
  auto b = find_bucket(bucket);
  if (!b) return true;
  auto meta = b->get();
  if (meta->cors.is_null()) return true;
  if (const json* rule = find_cors_rule(meta->cors, origin, method, {})) {
    add_cors_response_headers(*rule, origin, false, "", res.headers);
  }
  return true;
}

}  // namespace sless::services::s3
