#include <algorithm>
#include <set>

#include "core/encoding.h"
#include "services/s3/lifecycle.h"

namespace sless::services::s3 {

using nlohmann::json;

namespace {

constexpr int64_t kDayMs = 86400000;

ServiceError malformed() {
  return ServiceError("MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our published schema");
}

// Days after `from`, rounded up to the next midnight UTC.
int64_t days_after(int64_t from_ms, int64_t days) {
  int64_t t = from_ms + days * kDayMs;
  return (t + kDayMs - 1) / kDayMs * kDayMs;
}

bool tag_present(const json& tag, const std::vector<std::pair<std::string, std::string>>& tags) {
  std::string k = tag.value("Key", "");
  std::string v = tag.value("Value", "");
  return std::any_of(tags.begin(), tags.end(), [&](const auto& t) { return t.first == k && t.second == v; });
}

}  // namespace

std::optional<ServiceError> validate_lifecycle(const json& config) {
  auto rules = config.find("Rules");
  if (!config.is_object() || rules == config.end() || !rules->is_array() || rules->empty()) return malformed();
  if (rules->size() > 1000) return ServiceError("InvalidRequest", "The number of lifecycle rules must not exceed 1000");
  std::set<std::string> ids;
  for (const auto& rule : *rules) {
    std::string status = rule.value("Status", "");
    if (status != "Enabled" && status != "Disabled") return malformed();
    std::string id = rule.value("ID", "");
    if (id.size() > 255) return ServiceError("InvalidArgument", "ID length should not exceed allowed limit of 255");
    if (!id.empty() && !ids.insert(id).second) {
      return ServiceError("InvalidArgument", "Rule ID must be unique. Found same ID for more than one rule");
    }
    if (rule.contains("Filter") && rule.contains("Prefix")) return malformed();
    bool action = false;
    if (auto e = rule.find("Expiration"); e != rule.end() && e->is_object()) {
      int given = static_cast<int>(e->contains("Days")) + static_cast<int>(e->contains("Date")) +
                  static_cast<int>(e->contains("ExpiredObjectDeleteMarker"));
      if (given != 1) return malformed();
      if (e->contains("Days") && (!(*e)["Days"].is_number_integer() || (*e)["Days"].get<long long>() <= 0)) {
        return ServiceError("InvalidArgument", "'Days' for Expiration action must be a positive integer");
      }
      if (e->contains("Date")) {
        if (!(*e)["Date"].is_number()) return malformed();
        auto ms = static_cast<int64_t>((*e)["Date"].get<double>() * 1000.0);
        if (ms % kDayMs != 0) return ServiceError("InvalidArgument", "'Date' must be at midnight GMT");
      }
      action = true;
    }
    if (auto n = rule.find("NoncurrentVersionExpiration"); n != rule.end() && n->is_object()) {
      if (!n->contains("NoncurrentDays") || !(*n)["NoncurrentDays"].is_number_integer() ||
          (*n)["NoncurrentDays"].get<long long>() <= 0) {
        return ServiceError("InvalidArgument", "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer");
      }
      action = true;
    }
    if (auto a = rule.find("AbortIncompleteMultipartUpload"); a != rule.end() && a->is_object()) {
      if (!a->contains("DaysAfterInitiation") || !(*a)["DaysAfterInitiation"].is_number_integer() ||
          (*a)["DaysAfterInitiation"].get<long long>() <= 0) {
        return ServiceError("InvalidArgument", "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer");
      }
      action = true;
    }
    if (rule.contains("Transitions") || rule.contains("NoncurrentVersionTransitions")) action = true;
    if (!action) {
      return ServiceError("InvalidRequest", "At least one action needs to be specified in a rule");
    }
  }
  return std::nullopt;
}

bool lifecycle_rule_applies(const json& rule, const std::string& key,
                            const std::vector<std::pair<std::string, std::string>>& tags, uint64_t size) {
  if (rule.value("Status", "") != "Enabled") return false;
  if (auto p = rule.find("Prefix"); p != rule.end() && p->is_string()) {
    return enc::starts_with(key, p->get<std::string>());
  }
  auto f = rule.find("Filter");
  if (f == rule.end() || !f->is_object()) return true;
  const json* conds = &*f;
  if (auto a = f->find("And"); a != f->end() && a->is_object()) conds = &*a;
  if (auto p = conds->find("Prefix"); p != conds->end() && p->is_string() && !enc::starts_with(key, p->get<std::string>())) {
    return false;
  }
  if (auto t = conds->find("Tag"); t != conds->end() && t->is_object() && !tag_present(*t, tags)) return false;
  if (auto ts = conds->find("Tags"); ts != conds->end() && ts->is_array()) {
    for (const auto& t : *ts) {
      if (!tag_present(t, tags)) return false;
    }
  }
  if (auto g = conds->find("ObjectSizeGreaterThan"); g != conds->end() && g->is_number() &&
                                                     !(size > g->get<uint64_t>())) {
    return false;
  }
  if (auto l = conds->find("ObjectSizeLessThan"); l != conds->end() && l->is_number() && !(size < l->get<uint64_t>())) {
    return false;
  }
  return true;
}

std::optional<int64_t> lifecycle_expiry(const json& rule, int64_t created_ms) {
  auto e = rule.find("Expiration");
  if (e == rule.end() || !e->is_object()) return std::nullopt;
  if (auto d = e->find("Days"); d != e->end() && d->is_number_integer()) return days_after(created_ms, d->get<int64_t>());
  if (auto d = e->find("Date"); d != e->end() && d->is_number()) return static_cast<int64_t>(d->get<double>() * 1000.0);
  return std::nullopt;
}

std::optional<int64_t> lifecycle_noncurrent_expiry(const json& rule, int64_t since_ms) {
  auto n = rule.find("NoncurrentVersionExpiration");
  if (n == rule.end() || !n->is_object()) return std::nullopt;
  auto d = n->find("NoncurrentDays");
  if (d == n->end() || !d->is_number_integer()) return std::nullopt;
  return days_after(since_ms, d->get<int64_t>());
}

std::optional<int64_t> lifecycle_abort_time(const json& rule, int64_t initiated_ms) {
  auto a = rule.find("AbortIncompleteMultipartUpload");
  if (a == rule.end() || !a->is_object()) return std::nullopt;
  auto d = a->find("DaysAfterInitiation");
  if (d == a->end() || !d->is_number_integer()) return std::nullopt;
  return days_after(initiated_ms, d->get<int64_t>());
}

bool lifecycle_removes_expired_markers(const json& rule) {
  auto e = rule.find("Expiration");
  return e != rule.end() && e->is_object() && e->value("ExpiredObjectDeleteMarker", false);
}

}  // namespace sless::services::s3
