#include "services/s3/body_plan.h"

#include "core/encoding.h"

namespace sless::services::s3 {

using nlohmann::json;

namespace {

constexpr ChecksumAlgorithm kAll[] = {ChecksumAlgorithm::kCrc32, ChecksumAlgorithm::kCrc32c,
                                      ChecksumAlgorithm::kCrc64Nvme, ChecksumAlgorithm::kSha1,
                                      ChecksumAlgorithm::kSha256};

size_t digest_size(ChecksumAlgorithm a) {
  switch (a) {
    case ChecksumAlgorithm::kCrc32:
    case ChecksumAlgorithm::kCrc32c: return 4;
    case ChecksumAlgorithm::kCrc64Nvme: return 8;
    case ChecksumAlgorithm::kSha1: return 20;
    case ChecksumAlgorithm::kSha256: return 32;
    case ChecksumAlgorithm::kNone: break;
  }
  return 0;
}

std::string member_value(const json& params, ChecksumAlgorithm a) {
  auto it = params.find(algorithm_member(a));
  return it != params.end() && it->is_string() ? it->get<std::string>() : std::string();
}

void add_unique(std::vector<ChecksumAlgorithm>& v, ChecksumAlgorithm a) {
  for (auto x : v) {
    if (x == a) return;
  }
  v.push_back(a);
}

}  // namespace

ServiceError entity_too_large(uint64_t proposed, uint64_t max) {
  return ServiceError("EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
      .with("ProposedSize", std::to_string(proposed))
      .with("MaxSizeAllowed", std::to_string(max));
}

Outcome<BodyPlan> plan_body(const json& params, const http::Request& request) {
  BodyPlan plan;
  std::vector<ChecksumAlgorithm> given;
  for (auto a : kAll) {
    if (!member_value(params, a).empty()) add_unique(given, a);
  }
  if (auto trailer = request.headers.get("x-amz-trailer")) {
    std::string_view rest = *trailer;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      std::string name = enc::to_lower(rest.substr(0, comma));
      while (!name.empty() && name.front() == ' ') name.erase(0, 1);
      while (!name.empty() && name.back() == ' ') name.pop_back();
      if (enc::starts_with(name, "x-amz-checksum-")) {
        if (auto a = parse_algorithm(std::string_view(name).substr(15))) add_unique(given, *a);
      }
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  if (given.size() > 1) {
    return ServiceError("InvalidRequest", "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.");
  }
  std::string sdk = params.contains("ChecksumAlgorithm") && params["ChecksumAlgorithm"].is_string()
                        ? params["ChecksumAlgorithm"].get<std::string>()
                        : std::string();
  if (!sdk.empty()) {
    auto a = parse_algorithm(sdk);
    if (!a) {
      return ServiceError("InvalidRequest", "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]");
    }
    if (given.empty()) {
      return ServiceError("InvalidRequest",
                          "x-amz-sdk-checksum-algorithm specified, but no corresponding x-amz-checksum-* or "
                          "x-amz-trailer headers were found.");
    }
    if (given.front() != *a) {
      return ServiceError("InvalidRequest", "Value for x-amz-sdk-checksum-algorithm header is invalid.");
    }
  }
  if (!given.empty()) {
    plan.primary = given.front();
    plan.algorithms = given;
  }
  plan.content_md5 = params.contains("ContentMD5") && params["ContentMD5"].is_string()
                         ? params["ContentMD5"].get<std::string>()
                         : std::string();
  if (!plan.content_md5.empty()) {
    auto raw = enc::base64_decode(plan.content_md5);
    if (!raw || raw->size() != 16) return ServiceError("InvalidDigest", "The Content-MD5 you specified was invalid.");
  }
  auto number = [](std::string_view s) -> std::optional<uint64_t> {
    if (s.empty() || s.size() > 19) return std::nullopt;
    uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<uint64_t>(c - '0');
    }
    return v;
  };
  if (auto d = request.headers.get("x-amz-decoded-content-length")) {
    plan.declared_length = number(*d);
  } else if (!request.headers.has("transfer-encoding") && !request.trailers) {
    if (auto cl = request.headers.get("content-length")) plan.declared_length = number(*cl);
  }
  return plan;
}

std::optional<ServiceError> verify_body(const BodyPlan& plan, const json& params, const http::Request& request,
                                        const Ingest& ingest, std::string* checksum) {
  if (plan.declared_length && *plan.declared_length != ingest.size()) {
    return ServiceError("IncompleteBody",
                        "You did not provide the number of bytes specified by the Content-Length HTTP header");
  }
  if (!plan.content_md5.empty()) {
    auto raw = enc::base64_decode(plan.content_md5);
    if (!raw || *raw != ingest.md5()) {
      return ServiceError("BadDigest", "The Content-MD5 you specified did not match what we received.")
          .with("ExpectedDigest", plan.content_md5)
          .with("CalculatedDigest", enc::base64_encode(ingest.md5()));
    }
  }
  checksum->clear();
  if (plan.primary == ChecksumAlgorithm::kNone) return std::nullopt;
  std::string computed = enc::base64_encode(ingest.checksum(plan.primary));
  std::string expected = member_value(params, plan.primary);
  if (expected.empty() && request.trailers) {
    expected = std::string(request.trailers->get_or(algorithm_header(plan.primary), ""));
  }
  if (expected.empty()) {
    expected = std::string(request.headers.get_or(algorithm_header(plan.primary), ""));
  }
  if (!expected.empty()) {
    auto raw = enc::base64_decode(expected);
    if (!raw || raw->size() != digest_size(plan.primary)) {
      return ServiceError("InvalidRequest", "Value for " + algorithm_header(plan.primary) + " header is invalid.");
    }
    if (expected != computed) {
      return ServiceError("BadDigest", std::string("The ") + algorithm_name(plan.primary) +
                                           " you specified did not match the calculated checksum.");
    }
  } else if (request.trailers) {
    return ServiceError("InvalidRequest", "The trailing checksum " + algorithm_header(plan.primary) +
                                              " was declared in x-amz-trailer but not sent.");
  }
  *checksum = computed;
  return std::nullopt;
}

}  // namespace sless::services::s3
