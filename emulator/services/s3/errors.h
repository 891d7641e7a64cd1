// S3's errors as S3 sends them (code, message, status, extra fields). Pure; any thread.
#pragma once

#include <string>

#include "core/service_error.h"

namespace sless::services::s3::err {

inline ServiceError no_such_bucket(const std::string& bucket) {
  return ServiceError("NoSuchBucket", "The specified bucket does not exist", 404).with("BucketName", bucket);
}
inline ServiceError no_such_key(const std::string& key) {
  return ServiceError("NoSuchKey", "The specified key does not exist.", 404).with("Key", key);
}
inline ServiceError no_such_version(const std::string& key, const std::string& version) {
  return ServiceError("NoSuchVersion", "The specified version does not exist.", 404)
      .with("Key", key)
      .with("VersionId", version);
}
inline ServiceError no_such_upload(const std::string& id) {
  return ServiceError("NoSuchUpload",
                      "The specified upload does not exist. The upload ID may be invalid, or the upload may have been "
                      "aborted or completed.",
                      404)
      .with("UploadId", id);
}
inline ServiceError invalid_argument(const std::string& message, const std::string& name, const std::string& value) {
  return ServiceError("InvalidArgument", message).with("ArgumentName", name).with("ArgumentValue", value);
}
inline ServiceError invalid_request(const std::string& message) { return ServiceError("InvalidRequest", message); }
inline ServiceError malformed_xml() {
  return ServiceError("MalformedXML",
                      "The XML you provided was not well-formed or did not validate against our published schema");
}
inline ServiceError precondition_failed(const std::string& condition) {
  return ServiceError("PreconditionFailed", "At least one of the pre-conditions you specified did not hold", 412)
      .with("Condition", condition);
}
inline ServiceError internal(const std::string& message) {
  return ServiceError("InternalError", "We encountered an internal error. Please try again. (" + message + ")", 500,
                      false);
}
inline ServiceError bad_digest(const std::string& what) {
  return ServiceError("BadDigest", "The " + what + " you specified did not match the calculated checksum.");
}
inline ServiceError invalid_version_id(const std::string& version) {
  return ServiceError("InvalidArgument", "Invalid version id specified")
      .with("ArgumentName", "versionId")
      .with("ArgumentValue", version);
}

}  // namespace sless::services::s3::err
