// Object operations: PutObject (streamed), GetObject / HeadObject (ranges, parts, conditions),
// DeleteObject(s), CopyObject, listings (v1, v2, versions), GetObjectAttributes, object tagging.
#include <algorithm>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/log.h"
#include "core/time_format.h"
#include "services/s3/body_plan.h"
#include "services/s3/common.h"
#include "services/s3/errors.h"
#include "services/s3/ingest.h"
#include "services/s3/provider.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::s3 {

using nlohmann::json;
using Out = Outcome<protocol::OperationOutput>;

namespace {

void add_checksum(json& result, const ObjectRecord& rec) {
  if (rec.checksum_algorithm.empty() || rec.checksum.empty()) return;
  result["Checksum" + rec.checksum_algorithm] = rec.checksum;
  result["ChecksumType"] = rec.checksum_type.empty() ? std::string("FULL_OBJECT") : rec.checksum_type;
}

}  // namespace

// ---- PutObject ----

struct PutFlow {
  S3Provider* provider;
  Invocation inv;
  std::shared_ptr<S3Provider::BucketState> bucket;
  std::string key;
  BodyPlan plan;
  ObjectRecord rec;
  std::shared_ptr<Ingest> ingest;
};

void S3Provider::put_object(Invocation&& inv) {
  auto flow = std::make_shared<PutFlow>();
  flow->provider = this;
  flow->inv = std::move(inv);
  Invocation& in = flow->inv;
  auto fail = [&](ServiceError e) { in.done(std::move(e)); };
  auto found = bucket_of(in.params);
  if (!found.ok()) return fail(std::move(found).error());
  flow->bucket = found.value();
  flow->key = str(in.params, "Key");
  if (auto e = check_key(flow->key)) return fail(std::move(*e));
  auto plan = plan_body(in.params, *in.request);
  if (!plan.ok()) return fail(std::move(plan).error());
  flow->plan = std::move(plan).value();
  if (flow->plan.declared_length && *flow->plan.declared_length > kMaxPutSize) {
    return fail(entity_too_large(*flow->plan.declared_length, kMaxPutSize));
  }
  auto rec = record_from_params(in.params);
  if (!rec.ok()) return fail(std::move(rec).error());
  flow->rec = std::move(rec).value();
  IngestOptions opts;
  opts.inline_limit = kInlineLimit;
  opts.max_size = kMaxPutSize;
  opts.algorithms = flow->plan.algorithms;
  flow->ingest = std::make_shared<Ingest>(*bodies_, std::move(opts));
  read_body(in.request, flow->ingest, [flow](bool ok, std::string error) {
    S3Provider& self = *flow->provider;
    Invocation& in = flow->inv;
    Ingest& ingest = *flow->ingest;
    if (!ok) {
      if (error == "EntityTooLarge") return in.done(entity_too_large(ingest.size(), kMaxPutSize));
      return in.done(ServiceError("IncompleteBody", "The request body terminated unexpectedly: " + error));
    }
    ingest.finish();
    std::string checksum;
    if (auto e = verify_body(flow->plan, in.params, *in.request, ingest, &checksum)) return in.done(std::move(*e));
    ObjectRecord& rec = flow->rec;
    rec.size = ingest.size();
    rec.etag = enc::hex_encode(ingest.md5());
    rec.last_modified_ms = self.env_->clock->now_ms();
    rec.owner = in.ctx.account;
    if (flow->plan.primary != ChecksumAlgorithm::kNone) {
      rec.checksum_algorithm = algorithm_name(flow->plan.primary);
      rec.checksum = checksum;
      rec.checksum_type = "FULL_OBJECT";
    }
    // Conditional writes (If-None-Match: *, If-Match) are judged against the current object.
    std::string if_none = str(in.params, "IfNoneMatch");
    std::string if_match = str(in.params, "IfMatch");
    auto meta = flow->bucket->get();
    if (!if_none.empty() || !if_match.empty()) {
      auto current = self.load_current(meta->name, flow->key);
      if (!if_none.empty() && current && etag_matches(if_none, current->etag)) {
        return in.done(err::precondition_failed("If-None-Match"));
      }
      if (!if_match.empty()) {
        if (!current) return in.done(err::no_such_key(flow->key));
        if (!etag_matches(if_match, current->etag)) return in.done(err::precondition_failed("If-Match"));
      }
    }
    if (Status st = ingest.commit(); !st.is_ok()) return in.done(err::internal(st.to_string()));
    if (ingest.is_inline()) {
      rec.inline_body = ingest.take_inline();
    } else {
      rec.segments.push_back(Segment{ingest.body_id(), ingest.size()});
    }
    {
      std::shared_lock objects(flow->bucket->objects);
      if (self.find_bucket(meta->name) != flow->bucket) return in.done(err::no_such_bucket(meta->name));
      if (Status st = self.commit_object(*flow->bucket, flow->key, rec); !st.is_ok()) {
        return in.done(err::internal(st.to_string()));
      }
    }
    ingest.release();
    json result = {{"ETag", rec.quoted_etag()}, {"ServerSideEncryption", "AES256"}};
    if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
    add_checksum(result, rec);
    in.done(protocol::OperationOutput(std::move(result)));
    self.emit(*meta, "ObjectCreated:Put", flow->key, &rec, &in.ctx);
  });
}

// ---- GetObject / HeadObject ----

Out S3Provider::get_object(Invocation& inv, bool head) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto& b = *found.value();
  std::string key = str(p, "Key");
  auto meta = b.get();
  for (int attempt = 0;; ++attempt) {
    auto r = resolve_object(b, key, p, head);
    if (!r.ok()) return std::move(r).error();
    ObjectRecord& rec = r.value();
    protocol::OperationOutput out;
    json& result = out.result;
    auto cond = evaluate_conditions(conditions_of(p, false), rec);
    if (cond.status == 412) return err::precondition_failed(cond.condition);
    if (cond.status == 304) {
      out.status = 304;
      result["ETag"] = rec.quoted_etag();
      result["LastModified"] = static_cast<double>(rec.last_modified_ms / 1000);
      if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
      return out;
    }
    fill_object_result(rec, !meta->versioning.empty(), result, out);
    uint64_t start = 0;
    uint64_t length = rec.size;
    bool partial = false;
    if (auto pn = integer(p, "PartNumber")) {
      if (*pn < 1 || *pn > kMaxParts) {
        return err::invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                                     std::to_string(*pn));
      }
      size_t count = rec.parts.empty() ? 1 : rec.parts.size();
      if (static_cast<size_t>(*pn) > count) {
        return ServiceError("InvalidPartNumber", "The requested partnumber is not satisfiable", 416)
            .with("PartNumberRequested", std::to_string(*pn))
            .with("ActualPartCount", std::to_string(count));
      }
      if (!rec.parts.empty()) {
        for (int64_t i = 0; i + 1 < *pn; ++i) start += rec.parts[static_cast<size_t>(i)].size;
        length = rec.parts[static_cast<size_t>(*pn - 1)].size;
        result["PartsCount"] = rec.parts.size();
      }
      partial = true;
    } else if (auto range_header = str(p, "Range"); !range_header.empty()) {
      if (auto range = parse_range(range_header, rec.size)) {
        if (range->unsatisfiable) {
          return ServiceError("InvalidRange", "The requested range is not satisfiable", 416)
              .with("RangeRequested", range_header)
              .with("ActualObjectSize", std::to_string(rec.size));
        }
        start = range->start;
        length = range->length;
        partial = true;
      }
    }
    if (partial) {
      out.status = 206;
      result["ContentRange"] = "bytes " + std::to_string(start) + "-" +
                               std::to_string(length ? start + length - 1 : start) + "/" + std::to_string(rec.size);
      if (length == 0) result["ContentRange"] = "bytes */" + std::to_string(rec.size);
    }
    if (str(p, "ChecksumMode") == "ENABLED" && (!partial || (!rec.parts.empty() && rec.checksum_type == "COMPOSITE"))) {
      if (!partial) {
        add_checksum(result, rec);
      } else if (auto pn = integer(p, "PartNumber"); pn && !rec.parts[static_cast<size_t>(*pn - 1)].checksum.empty()) {
        result["Checksum" + rec.checksum_algorithm] = rec.parts[static_cast<size_t>(*pn - 1)].checksum;
      }
    }
    result["ContentLength"] = length;
    // response-* query parameters override the stored headers.
    static const std::pair<const char*, const char*> kOverrides[] = {
        {"ResponseContentType", "ContentType"},         {"ResponseContentLanguage", "ContentLanguage"},
        {"ResponseContentDisposition", "ContentDisposition"}, {"ResponseContentEncoding", "ContentEncoding"},
        {"ResponseCacheControl", "CacheControl"}};
    for (const auto& [from, to] : kOverrides) {
      if (auto v = str(p, from); !v.empty()) result[to] = v;
    }
    if (auto v = str(p, "ResponseExpires"); !v.empty()) {
      out.headers.erase(std::remove_if(out.headers.begin(), out.headers.end(),
                                       [](const auto& h) { return h.first == "Expires"; }),
                        out.headers.end());
      out.headers.emplace_back("Expires", v);
    }
    if (head) return out;
    if (rec.is_inline()) {
      out.raw_payload = rec.inline_body.substr(static_cast<size_t>(start), static_cast<size_t>(length));
      return out;
    }
    auto source = std::make_shared<ObjectSource>(*bodies_, rec.segments, std::string(), start, length);
    if (!source->ok()) {
      if (attempt < 2) continue;  // overwritten while we looked: read the new record
      return err::internal("object body missing");
    }
    out.payload_source = std::move(source);
    return out;
  }
}

// ---- DeleteObject(s) ----

Out S3Provider::delete_object_op(Invocation& inv) {
  auto found = bucket_of(inv.params);
  if (!found.ok()) return std::move(found).error();
  auto& b = *found.value();
  std::string key = str(inv.params, "Key");
  std::shared_lock objects(b.objects);
  auto r = delete_object(b, key, str(inv.params, "VersionId"));
  if (!r.ok()) return std::move(r).error();
  json result = json::object();
  if (r.value().versioned) {
    if (r.value().delete_marker) result["DeleteMarker"] = true;
    if (!r.value().version_id.empty()) result["VersionId"] = r.value().version_id;
  }
  auto meta = b.get();
  emit(*meta, r.value().delete_marker && str(inv.params, "VersionId").empty() ? "ObjectRemoved:DeleteMarkerCreated"
                                                                                : "ObjectRemoved:Delete",
       key, nullptr, &inv.ctx);
  return protocol::OperationOutput(std::move(result));
}

Out S3Provider::delete_objects(Invocation& inv) {
  auto found = bucket_of(inv.params);
  if (!found.ok()) return std::move(found).error();
  auto& b = *found.value();
  const json del = inv.params.value("Delete", json::object());
  auto objects_it = del.find("Objects");
  if (objects_it == del.end() || !objects_it->is_array() || objects_it->empty() || objects_it->size() > 1000) {
    return err::malformed_xml();
  }
  bool quiet = del.value("Quiet", false);
  json deleted = json::array();
  json errors = json::array();
  auto meta = b.get();
  std::shared_lock objects(b.objects);
  for (const auto& o : *objects_it) {
    std::string key = str(o, "Key");
    std::string version = str(o, "VersionId");
    if (auto e = check_key(key)) {
      errors.push_back(json{{"Key", key}, {"Code", e->code}, {"Message", e->message}});
      continue;
    }
    auto r = delete_object(b, key, version);
    if (!r.ok()) {
      json entry = {{"Key", key}, {"Code", r.error().code}, {"Message", r.error().message}};
      if (!version.empty()) entry["VersionId"] = version;
      errors.push_back(std::move(entry));
      continue;
    }
    emit(*meta, r.value().delete_marker && version.empty() ? "ObjectRemoved:DeleteMarkerCreated"
                                                            : "ObjectRemoved:Delete",
         key, nullptr, &inv.ctx);
    if (quiet) continue;
    json entry = {{"Key", key}};
    if (!version.empty()) entry["VersionId"] = version;
    if (r.value().delete_marker) {
      entry["DeleteMarker"] = true;
      entry["DeleteMarkerVersionId"] = r.value().version_id;
    }
    deleted.push_back(std::move(entry));
  }
  json result = json::object();
  if (!deleted.empty()) result["Deleted"] = std::move(deleted);
  if (!errors.empty()) result["Errors"] = std::move(errors);
  return xml_output(std::move(result), "DeleteResult");
}

// ---- CopyObject ----

Out S3Provider::copy_object(Invocation& inv) {
  const json& p = inv.params;
  auto dst_found = bucket_of(p);
  if (!dst_found.ok()) return std::move(dst_found).error();
  auto& dst = *dst_found.value();
  std::string key = str(p, "Key");
  if (auto e = check_key(key)) return std::move(*e);
  auto source = parse_copy_source(str(p, "CopySource"));
  if (!source.ok()) return std::move(source).error();
  const CopySource& cs = source.value();
  auto src_bucket = find_bucket(cs.bucket);
  if (!src_bucket) return err::no_such_bucket(cs.bucket);
  json sel = json::object();
  if (!cs.version_id.empty()) sel["VersionId"] = cs.version_id;
  auto src = resolve_object(*src_bucket, cs.key, sel, false);
  if (!src.ok()) {
    ServiceError e = std::move(src).error();
    if (e.http_status == 405) e = err::invalid_request("The source of a copy request may not specifically refer to a delete marker by version id.");
    return e;
  }
  ObjectRecord& from = src.value();
  auto cond = evaluate_conditions(conditions_of(p, true), from);
  if (cond.status != 0) return err::precondition_failed("x-amz-copy-source-" + enc::to_lower(cond.condition));
  std::string directive = str(p, "MetadataDirective");
  std::string tag_directive = str(p, "TaggingDirective");
  bool replace = directive == "REPLACE";
  ObjectRecord rec;
  if (replace) {
    auto fresh = record_from_params(p);
    if (!fresh.ok()) return std::move(fresh).error();
    rec = std::move(fresh).value();
  } else {
    rec = from;
    rec.segments.clear();
    rec.inline_body.clear();
    rec.tags.clear();
    if (auto sc = str(p, "StorageClass"); !sc.empty()) rec.storage_class = sc == "STANDARD" ? "" : sc;
    if (auto wr = str(p, "WebsiteRedirectLocation"); !wr.empty()) rec.website_redirect = wr;
  }
  if (tag_directive == "REPLACE") {
    auto tags = parse_tagging_header(str(p, "Tagging"));
    if (!tags.ok()) return std::move(tags).error();
    rec.tags = std::move(tags).value();
  } else {
    rec.tags = from.tags;
  }
  auto dst_meta = dst.get();
  bool same = cs.bucket == dst_meta->name && cs.key == key && cs.version_id.empty();
  if (same && !replace && str(p, "StorageClass").empty() && str(p, "WebsiteRedirectLocation").empty() &&
      str(p, "ServerSideEncryption").empty()) {
    return err::invalid_request(
        "This copy request is illegal because it is trying to copy an object to itself without changing the "
        "object's metadata, storage class, website redirect location or encryption attributes.");
  }
  rec.size = from.size;
  rec.etag = from.etag;
  rec.parts = from.parts;
  rec.checksum_algorithm = from.checksum_algorithm;
  rec.checksum = from.checksum;
  rec.checksum_type = from.checksum_type;
  rec.delete_marker = false;
  rec.owner = inv.ctx.account;
  rec.last_modified_ms = inv.ctx.now_ms;
  if (from.is_inline()) {
    rec.inline_body = from.inline_body;
  } else {
    for (const auto& s : from.segments) {
      auto id = bodies_->clone(s.id);
      if (!id.ok()) {
        drop_bodies(rec);
        return err::internal(id.status().to_string());
      }
      rec.segments.push_back(Segment{id.value(), s.size});
    }
  }
  {
    std::shared_lock objects(dst.objects);
    if (Status st = commit_object(dst, key, rec); !st.is_ok()) {
      drop_bodies(rec);
      return err::internal(st.to_string());
    }
  }
  json copy_result = {{"ETag", rec.quoted_etag()}, {"LastModified", static_cast<double>(rec.last_modified_ms / 1000)}};
  if (!rec.checksum.empty()) {
    copy_result["Checksum" + rec.checksum_algorithm] = rec.checksum;
    copy_result["ChecksumType"] = rec.checksum_type.empty() ? std::string("FULL_OBJECT") : rec.checksum_type;
  }
  json result = {{"CopyObjectResult", std::move(copy_result)}, {"ServerSideEncryption", "AES256"}};
  if (!dst_meta->versioning.empty()) result["VersionId"] = rec.version_id;
  if (!src_bucket->get()->versioning.empty()) result["CopySourceVersionId"] = from.version_id;
  emit(*dst_meta, "ObjectCreated:Copy", key, &rec, &inv.ctx);
  return protocol::OperationOutput(std::move(result));
}

// ---- listings ----

Out S3Provider::list_objects(Invocation& inv, bool v2) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  auto lp_or = ListParams::from(p, "MaxKeys", "max-keys");
  if (!lp_or.ok()) return std::move(lp_or).error();
  const ListParams& lp = lp_or.value();
  const std::string& prefix = lp.prefix;
  bool url = lp.url;
  int64_t max_keys = lp.max;
  std::string marker;
  std::string token = str(p, "ContinuationToken");
  if (v2) {
    if (!token.empty()) {
      auto decoded = enc::base64_decode(token);
      if (!decoded || decoded->empty() || (*decoded)[0] != 'k') {
        return err::invalid_argument("The continuation token provided is incorrect", "continuation-token", token);
      }
      marker = decoded->substr(1);
    } else {
      marker = str(p, "StartAfter");
    }
  } else {
    marker = str(p, "Marker");
  }
  bool fetch_owner = !v2 || p.value("FetchOwner", false);

  std::string lower = keys::current_prefix(meta->name, prefix);
  std::string upper = storage::key::prefix_end(lower);
  std::string base = keys::bucket_all('O', meta->name);
  auto it = store_->iterate(fam_, lower, upper);
  auto rollup = [&](const std::string& key) { return lp.rollup(key); };
  if (!marker.empty() && marker >= prefix) {
    std::string marker_cp = rollup(marker);
    if (!marker_cp.empty()) {
      it->seek(storage::key::prefix_end(keys::current_prefix(meta->name, marker_cp)));
    } else {
      it->seek(keys::current(meta->name, marker));
      if (it->valid()) {
        std::string k;
        if (keys::read_object_key(it->key(), base.size(), &k) && k == marker) it->next();
      }
    }
  } else {
    it->seek_to_first();
  }

  json contents = json::array();
  json prefixes = json::array();
  int64_t count = 0;
  bool truncated = false;
  std::string last;
  while (it->valid()) {
    std::string key;
    if (!keys::read_object_key(it->key(), base.size(), &key)) {
      it->next();
      continue;
    }
    if (count >= max_keys) {
      truncated = true;
      break;
    }
    std::string cp = rollup(key);
    if (!cp.empty()) {
      prefixes.push_back(json{{"Prefix", shown(cp, url)}});
      last = cp;
      ++count;
      it->seek(storage::key::prefix_end(keys::current_prefix(meta->name, cp)));
      continue;
    }
    auto rec = ObjectRecord::decode(it->value());
    if (rec) {
      json entry = {{"Key", shown(key, url)},
                    {"LastModified", static_cast<double>(rec->last_modified_ms / 1000)},
                    {"ETag", rec->quoted_etag()},
                    {"Size", rec->size},
                    {"StorageClass", rec->storage_class.empty() ? std::string("STANDARD") : rec->storage_class}};
      if (!rec->checksum_algorithm.empty()) {
        entry["ChecksumAlgorithm"] = json::array({rec->checksum_algorithm});
        entry["ChecksumType"] = rec->checksum_type.empty() ? std::string("FULL_OBJECT") : rec->checksum_type;
      }
      if (fetch_owner) entry["Owner"] = owner_json(rec->owner.empty() ? meta->owner : rec->owner);
      contents.push_back(std::move(entry));
      last = key;
      ++count;
    }
    it->next();
  }
  if (max_keys == 0) truncated = false;
  if (Status st = it->status(); !st.is_ok()) return err::internal(st.to_string());
  json result = {{"Name", meta->name}, {"IsTruncated", truncated}};
  lp.describe(result, "MaxKeys");
  if (!contents.empty()) result["Contents"] = std::move(contents);
  if (!prefixes.empty()) result["CommonPrefixes"] = std::move(prefixes);
  if (v2) {
    result["KeyCount"] = count;
    if (!token.empty()) result["ContinuationToken"] = token;
    if (auto sa = str(p, "StartAfter"); !sa.empty()) result["StartAfter"] = shown(sa, url);
    if (truncated) result["NextContinuationToken"] = enc::base64_encode("k" + last);
  } else {
    result["Marker"] = shown(marker, url);
    if (truncated && !lp.delimiter.empty()) result["NextMarker"] = shown(last, url);
  }
  return xml_output(std::move(result), "ListBucketResult");
}

Out S3Provider::list_object_versions(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  auto lp_or = ListParams::from(p, "MaxKeys", "max-keys");
  if (!lp_or.ok()) return std::move(lp_or).error();
  const ListParams& lp = lp_or.value();
  const std::string& prefix = lp.prefix;
  bool url = lp.url;
  int64_t max_keys = lp.max;
  std::string key_marker = str(p, "KeyMarker");
  std::string version_marker = str(p, "VersionIdMarker");
  if (!version_marker.empty() && key_marker.empty()) {
    return err::invalid_argument("A version-id marker cannot be specified without a key marker.", "version-id-marker",
                                 version_marker);
  }
  bool versioned = !meta->versioning.empty();
  char kind = versioned ? 'V' : 'O';
  std::string base = keys::bucket_all(kind, meta->name);
  std::string lower = versioned ? keys::version_prefix(meta->name, prefix) : keys::current_prefix(meta->name, prefix);
  auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
  auto rollup = [&](const std::string& key) { return lp.rollup(key); };
  auto prefix_end_of = [&](const std::string& cp) {
    return storage::key::prefix_end(versioned ? keys::version_prefix(meta->name, cp)
                                              : keys::current_prefix(meta->name, cp));
  };
  auto key_end_of = [&](const std::string& k) {
    return storage::key::prefix_end(versioned ? keys::versions_of(meta->name, k) : keys::current(meta->name, k));
  };
  std::string skip_latest_for;  // a key whose newest version lies before this page
  if (!key_marker.empty()) {
    std::string cp = rollup(key_marker);
    if (!cp.empty()) {
      it->seek(prefix_end_of(cp));
    } else if (version_marker.empty() || !versioned) {
      it->seek(key_end_of(key_marker));
    } else {
      std::optional<uint64_t> seq;
      for (const auto& v : load_versions(meta->name, key_marker)) {
        if (v.version_id == version_marker) seq = v.seq;
      }
      if (!seq) {
        return err::invalid_argument("Invalid version id specified", "version-id-marker", version_marker);
      }
      it->seek(keys::version(meta->name, key_marker, *seq));
      if (it->valid()) it->next();
      skip_latest_for = key_marker;
    }
  } else {
    it->seek_to_first();
  }
  json versions = json::array();
  json markers = json::array();
  json prefixes = json::array();
  int64_t count = 0;
  bool truncated = false;
  std::string last_key;
  std::string last_version;
  std::string previous_key = skip_latest_for;
  bool have_previous = !skip_latest_for.empty();
  while (it->valid()) {
    std::string key;
    uint64_t seq = 0;
    bool ok = versioned ? keys::read_version_key(it->key(), base.size(), &key, &seq)
                        : keys::read_object_key(it->key(), base.size(), &key);
    if (!ok) {
      it->next();
      continue;
    }
    if (count >= max_keys) {
      truncated = max_keys > 0;
      break;
    }
    std::string cp = rollup(key);
    if (!cp.empty()) {
      prefixes.push_back(json{{"Prefix", shown(cp, url)}});
      ++count;
      last_key = cp;
      last_version.clear();
      it->seek(prefix_end_of(cp));
      continue;
    }
    auto rec = ObjectRecord::decode(it->value());
    if (rec) {
      bool latest = !(have_previous && previous_key == key);
      previous_key = key;
      have_previous = true;
      json entry = {{"Key", shown(key, url)},
                    {"VersionId", rec->version_id},
                    {"IsLatest", latest},
                    {"LastModified", static_cast<double>(rec->last_modified_ms / 1000)},
                    {"Owner", owner_json(rec->owner.empty() ? meta->owner : rec->owner)}};
      if (rec->delete_marker) {
        markers.push_back(std::move(entry));
      } else {
        entry["ETag"] = rec->quoted_etag();
        entry["Size"] = rec->size;
        entry["StorageClass"] = rec->storage_class.empty() ? std::string("STANDARD") : rec->storage_class;
        if (!rec->checksum_algorithm.empty()) entry["ChecksumAlgorithm"] = json::array({rec->checksum_algorithm});
        versions.push_back(std::move(entry));
      }
      ++count;
      last_key = key;
      last_version = rec->version_id;
    }
    it->next();
  }
  json result = {{"Name", meta->name}, {"IsTruncated", truncated}, {"KeyMarker", shown(key_marker, url)},
                 {"VersionIdMarker", version_marker}};
  lp.describe(result, "MaxKeys");
  if (!versions.empty()) result["Versions"] = std::move(versions);
  if (!markers.empty()) result["DeleteMarkers"] = std::move(markers);
  if (!prefixes.empty()) result["CommonPrefixes"] = std::move(prefixes);
  if (truncated) {
    result["NextKeyMarker"] = shown(last_key, url);
    if (!last_version.empty()) result["NextVersionIdMarker"] = last_version;
  }
  return xml_output(std::move(result), "ListVersionsResult");
}

// ---- GetObjectAttributes ----

Out S3Provider::get_object_attributes(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  std::string key = str(p, "Key");
  auto r = resolve_object(*found.value(), key, p, false);
  if (!r.ok()) return std::move(r).error();
  const ObjectRecord& rec = r.value();
  std::vector<std::string> wanted;
  if (auto a = p.find("ObjectAttributes"); a != p.end() && a->is_array()) {
    for (const auto& x : *a) {
      if (x.is_string()) wanted.push_back(x.get<std::string>());
    }
  }
  if (wanted.empty()) {
    return ServiceError("InvalidArgument", "Invalid attribute name specified.")
        .with("ArgumentName", "x-amz-object-attributes")
        .with("ArgumentValue", "");
  }
  auto want = [&](const char* a) { return std::find(wanted.begin(), wanted.end(), a) != wanted.end(); };
  json result = {{"LastModified", static_cast<double>(rec.last_modified_ms / 1000)}};
  if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
  if (want("ETag")) result["ETag"] = rec.etag;
  if (want("StorageClass")) result["StorageClass"] = rec.storage_class.empty() ? std::string("STANDARD") : rec.storage_class;
  if (want("ObjectSize")) result["ObjectSize"] = rec.size;
  if (want("Checksum") && !rec.checksum.empty()) {
    result["Checksum"] = json{{"Checksum" + rec.checksum_algorithm, rec.checksum},
                              {"ChecksumType", rec.checksum_type.empty() ? std::string("FULL_OBJECT") : rec.checksum_type}};
  }
  if (want("ObjectParts") && !rec.parts.empty()) {
    int64_t max_parts = std::min<int64_t>(integer(p, "MaxParts").value_or(1000), 1000);
    int64_t marker = integer(p, "PartNumberMarker").value_or(0);
    json parts = json::array();
    int64_t last = marker;
    bool truncated = false;
    for (size_t i = static_cast<size_t>(std::max<int64_t>(marker, 0)); i < rec.parts.size(); ++i) {
      if (static_cast<int64_t>(parts.size()) >= max_parts) {
        truncated = true;
        break;
      }
      json part = {{"PartNumber", i + 1}, {"Size", rec.parts[i].size}};
      if (!rec.parts[i].checksum.empty()) part["Checksum" + rec.checksum_algorithm] = rec.parts[i].checksum;
      parts.push_back(std::move(part));
      last = static_cast<int64_t>(i + 1);
    }
    result["ObjectParts"] = json{{"TotalPartsCount", rec.parts.size()}, {"PartNumberMarker", marker},
                                 {"NextPartNumberMarker", last}, {"MaxParts", max_parts},
                                 {"IsTruncated", truncated}, {"Parts", std::move(parts)}};
  }
  return xml_output(std::move(result), "GetObjectAttributesResponse");
}

// ---- tagging ----

void S3Provider::register_object_tagging() {
  // Rewrites the tags of one version (and of the current record when it is that version).
  auto retag = [this](Invocation& inv, std::optional<std::vector<std::pair<std::string, std::string>>> tags) -> Out {
    auto found = bucket_of(inv.params);
    if (!found.ok()) return std::move(found).error();
    auto& b = *found.value();
    auto meta = b.get();
    std::string key = str(inv.params, "Key");
    std::shared_lock objects(b.objects);
    std::lock_guard lock(key_lock(meta->name, key));
    auto r = resolve_object(b, key, inv.params, false);
    if (!r.ok()) return std::move(r).error();
    ObjectRecord& rec = r.value();
    if (!tags) {
      json result = {{"TagSet", tags_to_params(rec.tags)}};
      if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
      protocol::OperationOutput out(std::move(result));
      out.xml_root = "Tagging";
      return out;
    }
    rec.tags = std::move(*tags);
    storage::WriteBatch batch;
    std::string encoded = rec.encode();
    if (!meta->versioning.empty()) batch.put(fam_, keys::version(meta->name, key, rec.seq), encoded);
    if (auto current = load_current(meta->name, key); current && current->version_id == rec.version_id &&
                                                      current->seq == rec.seq) {
      batch.put(fam_, keys::current(meta->name, key), encoded);
    }
    if (Status st = store_->write(batch); !st.is_ok()) return err::internal(st.to_string());
    json result = json::object();
    if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
    return protocol::OperationOutput(std::move(result));
  };
  sync("GetObjectTagging", [retag](Invocation& inv) { return retag(inv, std::nullopt); });
  sync("PutObjectTagging", [retag](Invocation& inv) -> Out {
    auto tags = tags_from_params(inv.params.value("Tagging", json()), true);
    if (!tags.ok()) return std::move(tags).error();
    return retag(inv, std::move(tags).value());
  });
  sync("DeleteObjectTagging", [retag](Invocation& inv) {
    return retag(inv, std::vector<std::pair<std::string, std::string>>{});
  });
}

}  // namespace sless::services::s3
