// Bucket operations and bucket configuration (CORS, versioning, tagging, policy, notification,
// lifecycle, encryption).
#include <algorithm>

#include "core/encoding.h"
#include "core/log.h"
#include "services/s3/common.h"
#include "services/s3/cors.h"
#include "services/s3/errors.h"
#include "services/s3/lifecycle.h"
#include "services/s3/provider.h"
#include "storage/keys.h"
#include "storage/store.h"

namespace sless::services::s3 {

using nlohmann::json;
using Out = Outcome<protocol::OperationOutput>;

namespace {

bool valid_bucket_name(const std::string& n) {
  if (n.size() < 3 || n.size() > 63) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(n.front()) || !alnum(n.back())) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    if (!alnum(c) && c != '.' && c != '-') return false;
    if (c == '.' && i + 1 < n.size() && (n[i + 1] == '.' || n[i + 1] == '-')) return false;
    if (c == '-' && i + 1 < n.size() && n[i + 1] == '.') return false;
  }
  // Not an IP address.
  int dots = 0;
  bool digits_only = true;
  for (char c : n) {
    if (c == '.') {
      ++dots;
    } else if (c < '0' || c > '9') {
      digits_only = false;
    }
  }
  if (digits_only && dots == 3) return false;
  for (const char* p : {"xn--", "sthree-", "amzn-s3-demo-"}) {
    if (enc::starts_with(n, p)) return false;
  }
  for (const char* s : {"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"}) {
    if (enc::ends_with(n, s)) return false;
  }
  return true;
}

ServiceError not_found_config(const char* code, const char* message, const std::string& bucket) {
  return ServiceError(code, message, 404).with("BucketName", bucket);
}

}  // namespace

Out S3Provider::create_bucket(Invocation& inv) {
  const json& p = inv.params;
  std::string name = str(p, "Bucket");
  if (!valid_bucket_name(name)) {
    return ServiceError("InvalidBucketName", "The specified bucket is not valid.").with("BucketName", name);
  }
  std::string region = inv.ctx.region;
  std::string constraint;
  if (auto c = p.find("CreateBucketConfiguration"); c != p.end() && c->is_object()) {
    constraint = str(*c, "LocationConstraint");
  }
  if (!constraint.empty()) {
    if (constraint == "us-east-1") {
      return ServiceError("InvalidLocationConstraint", "The specified location-constraint is not valid")
          .with("LocationConstraint", constraint);
    }
    if (constraint != region) {
      return ServiceError("IllegalLocationConstraintException",
                          "The " + constraint +
                              " location constraint is incompatible for the region specific endpoint this request "
                              "was sent to.");
    }
  } else if (region != "us-east-1") {
    return ServiceError("IllegalLocationConstraintException",
                        "The unspecified location constraint is incompatible for the region specific endpoint this "
                        "request was sent to.");
  }
  json result = {{"Location", "/" + name}};
  std::unique_lock lock(buckets_mu_);
  if (auto it = buckets_.find(name); it != buckets_.end()) {
    auto meta = it->second->get();
    if (meta->owner != inv.ctx.account) {
      return ServiceError("BucketAlreadyExists",
                          "The requested bucket name is not available. The bucket namespace is shared by all users of "
                          "the system. Please select a different name and try again.",
                          409)
          .with("BucketName", name);
    }
    if (meta->region == "us-east-1" && region == "us-east-1") return protocol::OperationOutput(std::move(result));
    return ServiceError("BucketAlreadyOwnedByYou",
                        "Your previous request to create the named bucket succeeded and you already own it.", 409)
        .with("BucketName", name);
  }
  Bucket b;
  b.name = name;
  b.owner = inv.ctx.account;
  b.region = constraint.empty() ? std::string("us-east-1") : constraint;
  b.created_ms = inv.ctx.now_ms;
  b.ownership = str(p, "ObjectOwnership");
  if (Status st = store_->put(fam_, keys::bucket(name), b.encode()); !st.is_ok()) return err::internal(st.to_string());
  auto state = std::make_shared<BucketState>();
  state->set(std::make_shared<const Bucket>(std::move(b)));
  buckets_[name] = std::move(state);
  return protocol::OperationOutput(std::move(result));
}

Out S3Provider::delete_bucket(Invocation& inv) {
  auto found = bucket_of(inv.params);
  if (!found.ok()) return std::move(found).error();
  auto b = found.value();
  std::unique_lock objects(b->objects);
  auto meta = b->get();
  for (char kind : {'O', 'V', 'U'}) {
    std::string lower = keys::bucket_all(kind, meta->name);
    auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
    it->seek_to_first();
    if (it->valid()) {
      return ServiceError("BucketNotEmpty",
                          meta->versioning.empty()
                              ? "The bucket you tried to delete is not empty"
                              : "The bucket you tried to delete is not empty. You must delete all versions in the bucket.",
                          409)
          .with("BucketName", meta->name);
    }
  }
  if (Status st = store_->del(fam_, keys::bucket(meta->name)); !st.is_ok()) return err::internal(st.to_string());
  std::unique_lock lock(buckets_mu_);
  buckets_.erase(meta->name);
  return protocol::OperationOutput();
}

Out S3Provider::head_bucket(Invocation& inv) {
  auto found = bucket_of(inv.params);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  return protocol::OperationOutput(json{{"BucketRegion", meta->region}});
}

Out S3Provider::list_buckets(Invocation& inv) {
  const json& p = inv.params;
  std::string prefix = str(p, "Prefix");
  std::string region = str(p, "BucketRegion");
  std::string after;
  if (auto t = str(p, "ContinuationToken"); !t.empty()) {
    auto decoded = enc::base64_decode(t);
    if (!decoded) return err::invalid_argument("Invalid continuation token", "continuation-token", t);
    after = *decoded;
  }
  int64_t max = integer(p, "MaxBuckets").value_or(10000);
  if (max < 1 || max > 10000) {
    return err::invalid_argument("Argument max-buckets must be an integer between 1 and 10000", "max-buckets",
                                 std::to_string(max));
  }
  std::vector<std::shared_ptr<const Bucket>> mine;
  {
    std::shared_lock lock(buckets_mu_);
    for (const auto& [name, state] : buckets_) {
      auto meta = state->get();
      if (meta->owner != inv.ctx.account || !enc::starts_with(name, prefix) || name <= after) continue;
      if (!region.empty() && meta->region != region) continue;
      mine.push_back(std::move(meta));
    }
  }
  std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) { return a->name < b->name; });
  json list = json::array();
  json result = {{"Owner", owner_json(inv.ctx.account)}};
  for (size_t i = 0; i < mine.size(); ++i) {
    if (static_cast<int64_t>(i) == max) {
      result["ContinuationToken"] = enc::base64_encode(mine[i - 1]->name);
      break;
    }
    list.push_back(json{{"Name", mine[i]->name},
                        {"CreationDate", static_cast<double>(mine[i]->created_ms / 1000)},
                        {"BucketRegion", mine[i]->region}});
  }
  result["Buckets"] = std::move(list);
  if (!prefix.empty()) result["Prefix"] = prefix;
  return xml_output(std::move(result), "ListAllMyBucketsResult");
}

Out S3Provider::get_bucket_location(Invocation& inv) {
  auto found = bucket_of(inv.params);
  if (!found.ok()) return std::move(found).error();
  auto meta = found.value()->get();
  protocol::OperationOutput out;
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  if (meta->region == "us-east-1") {
    body += "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>";
  } else {
    body += "<LocationConstraint xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">" + meta->region +
            "</LocationConstraint>";
  }
  out.raw_payload = std::move(body);
  out.headers.emplace_back("Content-Type", "application/xml");
  return out;
}

void S3Provider::register_bucket_configs() {
  // Runs fn with the bucket, answering NoSuchBucket for a missing one.
  auto with_bucket = [this](std::function<Out(Invocation&, BucketState&)> fn) {
    return [this, fn = std::move(fn)](Invocation& inv) -> Out {
      auto found = bucket_of(inv.params);
      if (!found.ok()) return std::move(found).error();
      return fn(inv, *found.value());
    };
  };
  // Stores a change to the bucket record and answers with an empty result.
  auto change = [this](BucketState& b, const std::function<void(Bucket&)>& fn) -> Out {
    if (Status st = save_bucket(b, fn); !st.is_ok()) return err::internal(st.to_string());
    return protocol::OperationOutput();
  };

  // -- CORS --
  sync("PutBucketCors", with_bucket([change](Invocation& inv, BucketState& b) -> Out {
         json config = inv.params.value("CORSConfiguration", json());
         if (auto e = validate_cors(config)) return std::move(*e);
         return change(b, [&](Bucket& m) { m.cors = config; });
       }));
  sync("GetBucketCors", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         if (meta->cors.is_null()) {
           return not_found_config("NoSuchCORSConfiguration", "The CORS configuration does not exist", meta->name);
         }
         return xml_output(meta->cors, "CORSConfiguration");
       }));
  sync("DeleteBucketCors", with_bucket([change](Invocation&, BucketState& b) -> Out {
         return change(b, [](Bucket& m) { m.cors = json(); });
       }));

  // -- versioning --
  sync("PutBucketVersioning", with_bucket([this](Invocation& inv, BucketState& b) -> Out {
         json config = inv.params.value("VersioningConfiguration", json::object());
         std::string status = str(config, "Status");
         if (status.empty()) return protocol::OperationOutput();
         if (status != "Enabled" && status != "Suspended") return err::malformed_xml();
         auto meta = b.get();
         if (meta->versioning.empty()) {
           // Objects written before versioning become the "null" versions of their keys.
           std::unique_lock objects(b.objects);
           std::string lower = keys::bucket_all('O', meta->name);
           auto it = store_->iterate(fam_, lower, storage::key::prefix_end(lower));
           storage::WriteBatch batch;
           for (it->seek_to_first(); it->valid(); it->next()) {
             std::string key;
             auto rec = ObjectRecord::decode(it->value());
             if (!rec || !keys::read_object_key(it->key(), lower.size(), &key)) continue;
             rec->seq = next_seq();
             rec->version_id = "null";
             std::string encoded = rec->encode();
             batch.put(fam_, keys::version(meta->name, key, rec->seq), encoded);
             batch.put(fam_, it->key(), encoded);
             if (batch.count() >= 2000) {
               if (Status st = store_->write(batch); !st.is_ok()) return err::internal(st.to_string());
               batch.clear();
             }
           }
           if (Status st = store_->write(batch); !st.is_ok()) return err::internal(st.to_string());
         }
         if (Status st = save_bucket(b, [&](Bucket& m) { m.versioning = status; }); !st.is_ok()) {
           return err::internal(st.to_string());
         }
         return protocol::OperationOutput();
       }));
  sync("GetBucketVersioning", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         json result = json::object();
         if (!meta->versioning.empty()) result["Status"] = meta->versioning;
         return xml_output(std::move(result), "VersioningConfiguration");
       }));

  // -- tagging --
  sync("PutBucketTagging", with_bucket([change](Invocation& inv, BucketState& b) -> Out {
         auto tags = tags_from_params(inv.params.value("Tagging", json()), false);
         if (!tags.ok()) return std::move(tags).error();
         return change(b, [&](Bucket& m) { m.tags = tags_to_params(tags.value()); });
       }));
  sync("GetBucketTagging", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         if (meta->tags.is_null()) return not_found_config("NoSuchTagSet", "The TagSet does not exist", meta->name);
         return xml_output(json{{"TagSet", meta->tags}}, "Tagging");
       }));
  sync("DeleteBucketTagging", with_bucket([change](Invocation&, BucketState& b) -> Out {
         return change(b, [](Bucket& m) { m.tags = json(); });
       }));

  // -- policy (stored and returned; not enforced) --
  sync("PutBucketPolicy", with_bucket([change](Invocation& inv, BucketState& b) -> Out {
         std::string text = str(inv.params, "Policy");
         size_t first = text.find_first_not_of(" \t\r\n");
         json policy = json::parse(text, nullptr, false);
         if (first == std::string::npos || text[first] != '{' || policy.is_discarded() || !policy.is_object()) {
           return ServiceError("MalformedPolicy", "Policies must be valid JSON and the first byte must be '{'");
         }
         if (!policy.contains("Statement")) return ServiceError("MalformedPolicy", "Missing required field Statement");
         return change(b, [&](Bucket& m) { m.policy = text; });
       }));
  sync("GetBucketPolicy", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         if (meta->policy.empty()) {
           return not_found_config("NoSuchBucketPolicy", "The bucket policy does not exist", meta->name);
         }
         return protocol::OperationOutput(json{{"Policy", meta->policy}});
       }));
  sync("DeleteBucketPolicy", with_bucket([change](Invocation&, BucketState& b) -> Out {
         return change(b, [](Bucket& m) { m.policy.clear(); });
       }));

  // -- notification (stored and validated; delivered through add_event_sink) --
  sync("PutBucketNotificationConfiguration", with_bucket([this, change](Invocation& inv, BucketState& b) -> Out {
         json config = inv.params.value("NotificationConfiguration", json::object());
         if (auto e = validate_notification(config)) return std::move(*e);
         auto targets = notification_targets(config);
         bool skip = inv.params.value("SkipDestinationValidation", false);
         if (destinations_.exists && !skip) {
           for (const auto& t : targets) {
             if (!destinations_.exists(t)) return missing_destination(t);
           }
         }
         bool empty = config.empty();
         Out out = change(b, [&](Bucket& m) { m.notification = empty ? json() : config; });
         if (out.ok() && destinations_.send_test) {
           auto meta = b.get();
           std::string body = test_event_message(meta->name, inv.ctx.request_id, inv.ctx.now_ms).dump();
           for (const auto& t : targets) {
             if (t.kind == EventTarget::Kind::kFunction) continue;  // S3 tests queues and topics only
             destinations_.send_test(t, meta->owner, meta->region, body);
           }
         }
         return out;
       }));
  sync("GetBucketNotificationConfiguration", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         return xml_output(meta->notification.is_null() ? json::object() : meta->notification,
                           "NotificationConfiguration");
       }));

  // -- lifecycle --
  sync("PutBucketLifecycleConfiguration", with_bucket([this, change](Invocation& inv, BucketState& b) -> Out {
         json config = inv.params.value("LifecycleConfiguration", json());
         if (auto e = validate_lifecycle(config)) return std::move(*e);
         Out out = change(b, [&](Bucket& m) { m.lifecycle = config; });
         schedule_lifecycle(std::chrono::milliseconds(100));
         return out;
       }));
  sync("GetBucketLifecycleConfiguration", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         if (meta->lifecycle.is_null()) {
           return not_found_config("NoSuchLifecycleConfiguration", "The lifecycle configuration does not exist",
                                   meta->name);
         }
         return xml_output(meta->lifecycle, "LifecycleConfiguration");
       }));
  sync("DeleteBucketLifecycle", with_bucket([change](Invocation&, BucketState& b) -> Out {
         return change(b, [](Bucket& m) { m.lifecycle = json(); });
       }));

  // -- default encryption (S3 encrypts every object with SSE-S3 unless told otherwise) --
  sync("PutBucketEncryption", with_bucket([change](Invocation& inv, BucketState& b) -> Out {
         json config = inv.params.value("ServerSideEncryptionConfiguration", json());
         if (!config.is_object() || !config.contains("Rules")) return err::malformed_xml();
         return change(b, [&](Bucket& m) { m.encryption = config; });
       }));
  sync("GetBucketEncryption", with_bucket([](Invocation&, BucketState& b) -> Out {
         auto meta = b.get();
         json config = meta->encryption;
         if (config.is_null()) {
           config = json{{"Rules", json::array({json{{"ApplyServerSideEncryptionByDefault", {{"SSEAlgorithm", "AES256"}}},
                                                     {"BucketKeyEnabled", false}}})}};
         }
         return protocol::OperationOutput(json{{"ServerSideEncryptionConfiguration", std::move(config)}});
       }));
  sync("DeleteBucketEncryption", with_bucket([change](Invocation&, BucketState& b) -> Out {
         return change(b, [](Bucket& m) { m.encryption = json(); });
       }));
}

}  // namespace sless::services::s3
