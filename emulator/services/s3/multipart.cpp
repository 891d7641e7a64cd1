// Multipart uploads: create, upload parts (streamed) and part copies, complete (order, ETags,
// sizes, checksums), abort, and the two listings. A completed object keeps its parts' bodies as
// its segments, so completion copies no data.
#include <algorithm>

#include "core/clock.h"
#include "core/encoding.h"
#include "core/ids.h"
#include "core/log.h"
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

std::string unquote(std::string s) {
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') return s.substr(1, s.size() - 2);
  return s;
}

ServiceError bad_part_number(int64_t n) {
  return err::invalid_argument("Part number must be an integer between 1 and 10000, inclusive", "partNumber",
                               std::to_string(n));
}

std::vector<Part> load_parts(storage::Store& store, storage::Family* fam, const std::string& upload_id) {
  std::vector<Part> out;
  std::string lower = keys::parts_of(upload_id);
  auto it = store.iterate(fam, lower, storage::key::prefix_end(lower));
  for (it->seek_to_first(); it->valid(); it->next()) {
    if (auto p = Part::decode(it->value())) out.push_back(std::move(*p));
  }
  return out;
}

json part_checksum_member(const Upload& u, const std::string& checksum, json entry) {
  if (!u.checksum_algorithm.empty() && !checksum.empty()) entry["Checksum" + u.checksum_algorithm] = checksum;
  return entry;
}

}  // namespace

std::optional<Upload> S3Provider::load_upload(const std::string& bucket, const std::string& key,
                                              const std::string& id) const {
  std::string value;
  if (!store_->get(fam_, keys::upload(bucket, key, id), &value).is_ok()) return std::nullopt;
  return Upload::decode(value);
}

void S3Provider::remove_upload(const Upload& u) {
  auto parts = load_parts(*store_, fam_, u.upload_id);
  storage::WriteBatch batch;
  batch.del(fam_, keys::upload(u.bucket, u.key, u.upload_id));
  std::string lower = keys::parts_of(u.upload_id);
  batch.delete_range(fam_, lower, storage::key::prefix_end(lower));
  if (Status st = store_->write(batch); !st.is_ok()) {
    log::warn("s3: removing upload {} failed: {}", u.upload_id, st.to_string());
    return;
  }
  for (const auto& p : parts) bodies_->remove(p.body_id);
}

Out S3Provider::create_multipart(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  std::string key = str(p, "Key");
  if (auto e = check_key(key)) return std::move(*e);
  auto rec = record_from_params(p);
  if (!rec.ok()) return std::move(rec).error();
  Upload u;
  u.bucket = meta->name;
  u.key = key;
  u.upload_id = ids::random_alnum(64);
  u.initiated_ms = inv.ctx.now_ms;
  u.owner = inv.ctx.account;
  u.object = std::move(rec).value();
  if (auto a = str(p, "ChecksumAlgorithm"); !a.empty()) {
    auto alg = parse_algorithm(a);
    if (!alg) return err::invalid_request("Checksum algorithm provided is unsupported.");
    u.checksum_algorithm = algorithm_name(*alg);
    std::string type = str(p, "ChecksumType");
    if (type.empty()) type = *alg == ChecksumAlgorithm::kCrc64Nvme ? "FULL_OBJECT" : "COMPOSITE";
    if (type == "FULL_OBJECT" && !is_crc(*alg)) {
      return err::invalid_request("The FULL_OBJECT checksum type cannot be used with the " + enc::to_lower(a) +
                                  " checksum algorithm.");
    }
    if (type == "COMPOSITE" && *alg == ChecksumAlgorithm::kCrc64Nvme) {
      return err::invalid_request("The COMPOSITE checksum type cannot be used with the crc64nvme checksum algorithm.");
    }
    u.checksum_type = type;
  } else if (!str(p, "ChecksumType").empty()) {
    return err::invalid_request("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.");
  }
  if (Status st = store_->put(fam_, keys::upload(u.bucket, u.key, u.upload_id), u.encode()); !st.is_ok()) {
    return err::internal(st.to_string());
  }
  json result = {{"Bucket", u.bucket}, {"Key", key}, {"UploadId", u.upload_id}, {"ServerSideEncryption", "AES256"}};
  if (!u.checksum_algorithm.empty()) {
    result["ChecksumAlgorithm"] = u.checksum_algorithm;
    result["ChecksumType"] = u.checksum_type;
  }
  return xml_output(std::move(result), "InitiateMultipartUploadResult");
}

namespace {

struct PartFlow {
  Invocation inv;
  Upload upload;
  int number = 0;
  BodyPlan plan;
  std::shared_ptr<Ingest> ingest;
};

}  // namespace

void S3Provider::upload_part(Invocation&& inv_in) {
  auto flow = std::make_shared<PartFlow>();
  flow->inv = std::move(inv_in);
  Invocation& inv = flow->inv;
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return inv.done(std::move(found).error());
  auto meta = found.value()->get();
  int64_t number = integer(p, "PartNumber").value_or(0);
  if (number < 1 || number > kMaxParts) return inv.done(bad_part_number(number));
  flow->number = static_cast<int>(number);
  auto u = load_upload(meta->name, str(p, "Key"), str(p, "UploadId"));
  if (!u) return inv.done(err::no_such_upload(str(p, "UploadId")));
  flow->upload = std::move(*u);
  auto plan = plan_body(p, *inv.request);
  if (!plan.ok()) return inv.done(std::move(plan).error());
  flow->plan = std::move(plan).value();
  if (flow->plan.declared_length && *flow->plan.declared_length > kMaxPutSize) {
    return inv.done(entity_too_large(*flow->plan.declared_length, kMaxPutSize));
  }
  if (!flow->upload.checksum_algorithm.empty()) {
    auto alg = *parse_algorithm(flow->upload.checksum_algorithm);
    if (flow->plan.primary != ChecksumAlgorithm::kNone && flow->plan.primary != alg) {
      return inv.done(err::invalid_request(std::string("Checksum Type mismatch occurred, expected checksum Type: ") +
                                           enc::to_lower(flow->upload.checksum_algorithm) + ", actual checksum Type: " +
                                           enc::to_lower(algorithm_name(flow->plan.primary))));
    }
    if (flow->plan.algorithms.empty()) flow->plan.algorithms.push_back(alg);
  }
  IngestOptions opts;
  opts.inline_limit = 0;
  opts.max_size = kMaxPutSize;
  opts.algorithms = flow->plan.algorithms;
  flow->ingest = std::make_shared<Ingest>(*bodies_, std::move(opts));
  read_body(inv.request, flow->ingest, [this, flow](bool ok, std::string error) {
    Invocation& inv = flow->inv;
    Ingest& ingest = *flow->ingest;
    if (!ok) {
      if (error == "EntityTooLarge") return inv.done(entity_too_large(ingest.size(), kMaxPutSize));
      return inv.done(ServiceError("IncompleteBody", "The request body terminated unexpectedly: " + error));
    }
    ingest.finish();
    std::string checksum;
    if (auto e = verify_body(flow->plan, inv.params, *inv.request, ingest, &checksum)) return inv.done(std::move(*e));
    const Upload& u = flow->upload;
    if (!u.checksum_algorithm.empty() && checksum.empty()) {
      checksum = enc::base64_encode(ingest.checksum(*parse_algorithm(u.checksum_algorithm)));
    }
    if (Status st = ingest.commit(); !st.is_ok()) return inv.done(err::internal(st.to_string()));
    Part part;
    part.number = flow->number;
    part.body_id = ingest.body_id();
    part.size = ingest.size();
    part.etag = enc::hex_encode(ingest.md5());
    part.last_modified_ms = env_->clock->now_ms();
    part.checksum = checksum;
    std::optional<Part> replaced;
    {
      std::lock_guard lock(upload_lock(u.upload_id));
      if (!load_upload(u.bucket, u.key, u.upload_id)) return inv.done(err::no_such_upload(u.upload_id));
      std::string old;
      if (store_->get(fam_, keys::part(u.upload_id, part.number), &old).is_ok()) replaced = Part::decode(old);
      if (Status st = store_->put(fam_, keys::part(u.upload_id, part.number), part.encode()); !st.is_ok()) {
        return inv.done(err::internal(st.to_string()));
      }
    }
    ingest.release();
    if (replaced) bodies_->remove(replaced->body_id);
    json result = {{"ETag", "\"" + part.etag + "\""}, {"ServerSideEncryption", "AES256"}};
    if (!u.checksum_algorithm.empty()) result["Checksum" + u.checksum_algorithm] = checksum;
    inv.done(protocol::OperationOutput(std::move(result)));
  });
}

Out S3Provider::upload_part_copy(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  int64_t number = integer(p, "PartNumber").value_or(0);
  if (number < 1 || number > kMaxParts) return bad_part_number(number);
  auto u = load_upload(meta->name, str(p, "Key"), str(p, "UploadId"));
  if (!u) return err::no_such_upload(str(p, "UploadId"));
  auto cs = parse_copy_source(str(p, "CopySource"));
  if (!cs.ok()) return std::move(cs).error();
  auto src_bucket = find_bucket(cs.value().bucket);
  if (!src_bucket) return err::no_such_bucket(cs.value().bucket);
  json sel = json::object();
  if (!cs.value().version_id.empty()) sel["VersionId"] = cs.value().version_id;
  auto src = resolve_object(*src_bucket, cs.value().key, sel, false);
  if (!src.ok()) return std::move(src).error();
  const ObjectRecord& from = src.value();
  if (auto cond = evaluate_conditions(conditions_of(p, true), from); cond.status != 0) {
    return err::precondition_failed("x-amz-copy-source-" + enc::to_lower(cond.condition));
  }
  uint64_t start = 0;
  uint64_t length = from.size;
  if (auto range = str(p, "CopySourceRange"); !range.empty()) {
    // Only "bytes=first-last" within the object is accepted for a part copy.
    auto r = parse_range(range, from.size);
    auto dash = range.find('-');
    bool explicit_bounds = enc::starts_with(range, "bytes=") && dash != std::string::npos && dash > 6 &&
                           dash + 1 < range.size();
    uint64_t last = explicit_bounds ? std::strtoull(range.c_str() + dash + 1, nullptr, 10) : 0;
    if (!r || r->unsatisfiable || !explicit_bounds || last >= from.size) {
      return err::invalid_argument("Range specified is not valid for source object of size: " +
                                       std::to_string(from.size),
                                   "x-amz-copy-source-range", range);
    }
    start = r->start;
    length = r->length;
  }
  if (length > kMaxPutSize) return entity_too_large(length, kMaxPutSize);
  IngestOptions opts;
  opts.inline_limit = 0;
  if (!u->checksum_algorithm.empty()) opts.algorithms.push_back(*parse_algorithm(u->checksum_algorithm));
  Ingest ingest(*bodies_, std::move(opts));
  ObjectSource source(*bodies_, from.segments, from.inline_body, start, length);
  if (!source.ok()) return err::internal("source body missing");
  std::string buf(1 << 20, '\0');
  while (true) {
    int64_t n = source.read(buf.data(), buf.size());
    if (n < 0) return err::internal("reading the copy source failed");
    if (n == 0) break;
    if (Status st = ingest.feed(std::string_view(buf.data(), static_cast<size_t>(n))); !st.is_ok()) {
      return err::internal(st.to_string());
    }
  }
  ingest.finish();
  if (Status st = ingest.commit(); !st.is_ok()) return err::internal(st.to_string());
  Part part;
  part.number = static_cast<int>(number);
  part.body_id = ingest.body_id();
  part.size = ingest.size();
  part.etag = enc::hex_encode(ingest.md5());
  part.last_modified_ms = inv.ctx.now_ms;
  if (!u->checksum_algorithm.empty()) {
    part.checksum = enc::base64_encode(ingest.checksum(*parse_algorithm(u->checksum_algorithm)));
  }
  std::optional<Part> replaced;
  {
    std::lock_guard lock(upload_lock(u->upload_id));
    if (!load_upload(u->bucket, u->key, u->upload_id)) return err::no_such_upload(u->upload_id);
    std::string old;
    if (store_->get(fam_, keys::part(u->upload_id, part.number), &old).is_ok()) replaced = Part::decode(old);
    if (Status st = store_->put(fam_, keys::part(u->upload_id, part.number), part.encode()); !st.is_ok()) {
      return err::internal(st.to_string());
    }
  }
  ingest.release();
  if (replaced) bodies_->remove(replaced->body_id);
  json copy_result = {{"ETag", "\"" + part.etag + "\""}, {"LastModified", static_cast<double>(part.last_modified_ms / 1000)}};
  if (!part.checksum.empty()) copy_result["Checksum" + u->checksum_algorithm] = part.checksum;
  json result = {{"CopyPartResult", std::move(copy_result)}, {"ServerSideEncryption", "AES256"}};
  if (!src_bucket->get()->versioning.empty()) result["CopySourceVersionId"] = from.version_id;
  return protocol::OperationOutput(std::move(result));
}

Out S3Provider::complete_multipart(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto& b = *found.value();
  auto meta = b.get();
  std::string key = str(p, "Key");
  std::string upload_id = str(p, "UploadId");
  auto u = load_upload(meta->name, key, upload_id);
  if (!u) return err::no_such_upload(upload_id);
  json requested = json::array();
  if (auto mp = p.find("MultipartUpload"); mp != p.end() && mp->is_object()) {
    requested = mp->value("Parts", json::array());
  }
  if (!requested.is_array() || requested.empty()) return err::malformed_xml();
  auto stored = load_parts(*store_, fam_, upload_id);
  std::map<int, const Part*> by_number;
  for (const auto& part : stored) by_number[part.number] = &part;
  std::optional<ChecksumAlgorithm> alg;
  if (!u->checksum_algorithm.empty()) alg = parse_algorithm(u->checksum_algorithm);

  ObjectRecord rec = u->object;
  std::string md5s;
  std::string checksums;
  std::string full_crc;
  int previous = 0;
  for (const json& r : requested) {
    int number = static_cast<int>(integer(r, "PartNumber").value_or(0));
    if (number < 1 || number > kMaxParts) return bad_part_number(number);
    if (number <= previous) {
      return ServiceError("InvalidPartOrder",
                          "The list of parts was not in ascending order. Parts must be ordered by part number.")
          .with("UploadId", upload_id);
    }
    previous = number;
  }
  std::vector<std::string> used;
  for (size_t i = 0; i < requested.size(); ++i) {
    const json& r = requested[i];
    int number = static_cast<int>(integer(r, "PartNumber").value_or(0));
    auto it = by_number.find(number);
    std::string etag = unquote(str(r, "ETag"));
    if (it == by_number.end() || etag != it->second->etag) {
      return ServiceError("InvalidPart",
                          "One or more of the specified parts could not be found.  The part may not have been "
                          "uploaded, or the specified entity tag may not match the part's entity tag.")
          .with("UploadId", upload_id)
          .with("PartNumber", std::to_string(number))
          .with("ETag", str(r, "ETag"));
    }
    const Part& part = *it->second;
    if (i + 1 < requested.size() && part.size < kMinPartSize) {
      return ServiceError("EntityTooSmall", "Your proposed upload is smaller than the minimum allowed size")
          .with("ProposedSize", std::to_string(part.size))
          .with("MinSizeAllowed", std::to_string(kMinPartSize))
          .with("PartNumber", std::to_string(number))
          .with("ETag", part.etag);
    }
    if (alg) {
      std::string given = str(r, ("Checksum" + u->checksum_algorithm).c_str());
      if (!given.empty() && given != part.checksum) {
        return ServiceError("InvalidPart",
                            "One or more of the specified parts could not be found.  The part may not have been "
                            "uploaded, or the specified entity tag may not match the part's entity tag.")
            .with("UploadId", upload_id)
            .with("PartNumber", std::to_string(number))
            .with("ETag", str(r, "ETag"));
      }
      auto raw = enc::base64_decode(part.checksum).value_or(std::string());
      checksums += raw;
      full_crc = i == 0 ? raw : combine_crc(*alg, full_crc, raw, part.size);
    }
    md5s += enc::hex_decode(part.etag).value_or(std::string());
    rec.segments.push_back(Segment{part.body_id, part.size});
    rec.parts.push_back(PartFact{part.size, part.checksum});
    rec.size += part.size;
    used.push_back(part.body_id);
  }
  size_t n = requested.size();
  {
    auto h = Hasher::md5();
    h->update(md5s);
    rec.etag = enc::hex_encode(h->finish()) + "-" + std::to_string(n);
  }
  if (alg) {
    rec.checksum_algorithm = u->checksum_algorithm;
    rec.checksum_type = u->checksum_type;
    if (u->checksum_type == "FULL_OBJECT") {
      rec.checksum = enc::base64_encode(full_crc);
      std::string given = str(p, ("Checksum" + u->checksum_algorithm).c_str());
      if (!given.empty() && given != rec.checksum) return err::bad_digest(u->checksum_algorithm);
    } else {
      rec.checksum = enc::base64_encode(checksum_of(*alg, checksums)) + "-" + std::to_string(n);
    }
  }
  rec.last_modified_ms = inv.ctx.now_ms;
  rec.owner = u->owner;
  std::string if_none = str(p, "IfNoneMatch");
  std::string if_match = str(p, "IfMatch");
  if (!if_none.empty() || !if_match.empty()) {
    auto current = load_current(meta->name, key);
    if (!if_none.empty() && current && etag_matches(if_none, current->etag)) return err::precondition_failed("If-None-Match");
    if (!if_match.empty() && (!current || !etag_matches(if_match, current->etag))) {
      return current ? err::precondition_failed("If-Match") : err::no_such_key(key);
    }
  }
  {
    std::shared_lock objects(b.objects);
    std::lock_guard lock(upload_lock(upload_id));
    if (!load_upload(meta->name, key, upload_id)) return err::no_such_upload(upload_id);
    Status st = commit_object(b, key, rec, [&](storage::WriteBatch& batch) {
      batch.del(fam_, keys::upload(meta->name, key, upload_id));
      std::string lower = keys::parts_of(upload_id);
      batch.delete_range(fam_, lower, storage::key::prefix_end(lower));
    });
    if (!st.is_ok()) return err::internal(st.to_string());
  }
  for (const auto& part : stored) {
    if (std::find(used.begin(), used.end(), part.body_id) == used.end()) bodies_->remove(part.body_id);
  }
  json result = {{"Location", inv.ctx.endpoint + "/" + meta->name + "/" + enc::percent_encode(key, true)},
                 {"Bucket", meta->name},
                 {"Key", key},
                 {"ETag", rec.quoted_etag()},
                 {"ServerSideEncryption", "AES256"}};
  if (!rec.checksum.empty()) {
    result["Checksum" + rec.checksum_algorithm] = rec.checksum;
    result["ChecksumType"] = rec.checksum_type;
  }
  if (!meta->versioning.empty()) result["VersionId"] = rec.version_id;
  emit(*meta, "ObjectCreated:CompleteMultipartUpload", key, &rec, &inv.ctx);
  return xml_output(std::move(result), "CompleteMultipartUploadResult");
}

Out S3Provider::abort_multipart(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  std::string upload_id = str(p, "UploadId");
  std::lock_guard lock(upload_lock(upload_id));
  auto u = load_upload(meta->name, str(p, "Key"), upload_id);
  if (!u) return err::no_such_upload(upload_id);
  remove_upload(*u);
  return protocol::OperationOutput();
}

Out S3Provider::list_parts(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  std::string upload_id = str(p, "UploadId");
  auto u = load_upload(meta->name, str(p, "Key"), upload_id);
  if (!u) return err::no_such_upload(upload_id);
  int64_t max_parts = std::min<int64_t>(integer(p, "MaxParts").value_or(1000), 1000);
  int64_t marker = integer(p, "PartNumberMarker").value_or(0);
  json parts = json::array();
  bool truncated = false;
  int64_t last = 0;
  for (const auto& part : load_parts(*store_, fam_, upload_id)) {
    if (part.number <= marker) continue;
    if (static_cast<int64_t>(parts.size()) >= max_parts) {
      truncated = true;
      break;
    }
    parts.push_back(part_checksum_member(*u, part.checksum,
                                         json{{"PartNumber", part.number},
                                              {"LastModified", static_cast<double>(part.last_modified_ms) / 1000.0},
                                              {"ETag", "\"" + part.etag + "\""},
                                              {"Size", part.size}}));
    last = part.number;
  }
  json result = {{"Bucket", meta->name},
                 {"Key", u->key},
                 {"UploadId", upload_id},
                 {"PartNumberMarker", marker},
                 {"NextPartNumberMarker", last},
                 {"MaxParts", max_parts},
                 {"IsTruncated", truncated},
                 {"Initiator", json{{"ID", canonical_id(u->owner)}, {"DisplayName", "webfile"}}},
                 {"Owner", owner_json(u->owner)},
                 {"StorageClass", u->object.storage_class.empty() ? std::string("STANDARD") : u->object.storage_class}};
  if (!parts.empty()) result["Parts"] = std::move(parts);
  if (!u->checksum_algorithm.empty()) {
    result["ChecksumAlgorithm"] = u->checksum_algorithm;
    result["ChecksumType"] = u->checksum_type;
  }
  return xml_output(std::move(result), "ListPartsResult");
}

Out S3Provider::list_multipart_uploads(Invocation& inv) {
  const json& p = inv.params;
  auto found = bucket_of(p);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  auto lp_or = ListParams::from(p, "MaxUploads", "max-uploads");
  if (!lp_or.ok()) return std::move(lp_or).error();
  const ListParams& lp = lp_or.value();
  const std::string& prefix = lp.prefix;
  bool url = lp.url;
  int64_t max_uploads = lp.max;
  std::string key_marker = str(p, "KeyMarker");
  std::string id_marker = str(p, "UploadIdMarker");
  std::string base = keys::bucket_all('U', meta->name);
  std::string lower = keys::upload_prefix(meta->name, prefix);
  auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
  it->seek_to_first();
  json uploads = json::array();
  json prefixes = json::array();
  int64_t count = 0;
  bool truncated = false;
  std::string last_key;
  std::string last_id;
  std::string last_cp;
  for (; it->valid(); it->next()) {
    std::string key;
    std::string id;
    if (!keys::read_upload_key(it->key(), base.size(), &key, &id)) continue;
    if (!key_marker.empty() && (key < key_marker || (key == key_marker && (id_marker.empty() || id <= id_marker)))) {
      continue;
    }
    std::string cp = lp.rollup(key);
    if (!cp.empty() && cp == last_cp) continue;
    if (count >= max_uploads) {
      truncated = true;
      break;
    }
    ++count;
    if (!cp.empty()) {
      prefixes.push_back(json{{"Prefix", shown(cp, url)}});
      last_cp = cp;
      last_key = cp;
      last_id.clear();
      continue;
    }
    auto u = Upload::decode(it->value());
    if (!u) continue;
    json entry = {{"UploadId", id},
                  {"Key", shown(key, url)},
                  {"Initiated", static_cast<double>(u->initiated_ms) / 1000.0},
                  {"StorageClass", u->object.storage_class.empty() ? std::string("STANDARD") : u->object.storage_class},
                  {"Owner", owner_json(u->owner)},
                  {"Initiator", json{{"ID", canonical_id(u->owner)}, {"DisplayName", "webfile"}}}};
    if (!u->checksum_algorithm.empty()) {
      entry["ChecksumAlgorithm"] = u->checksum_algorithm;
      entry["ChecksumType"] = u->checksum_type;
    }
    uploads.push_back(std::move(entry));
    last_key = key;
    last_id = id;
  }
  json result = {{"Bucket", meta->name}, {"KeyMarker", shown(key_marker, url)}, {"UploadIdMarker", id_marker},
                 {"IsTruncated", truncated}};
  lp.describe(result, "MaxUploads");
  if (truncated) {
    result["NextKeyMarker"] = shown(last_key, url);
    result["NextUploadIdMarker"] = last_id;
  }
  if (!uploads.empty()) result["Uploads"] = std::move(uploads);
  if (!prefixes.empty()) result["CommonPrefixes"] = std::move(prefixes);
  return xml_output(std::move(result), "ListMultipartUploadsResult");
}

}  // namespace sless::services::s3
