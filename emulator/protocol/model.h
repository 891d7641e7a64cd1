// The AWS API models (operations and shapes) that drive every codec, loaded from the stripped
// botocore JSON embedded in the binary. A ServiceModel is parsed once, on first use, and is
// immutable afterwards: any thread may read it. Models own their shapes; pointers into a model
// stay valid for the life of the process.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace sless::protocol {

enum class Protocol { kJson, kQuery, kRestJson, kRestXml };

enum class ShapeType {
  kStructure, kList, kMap, kString, kInteger, kLong, kFloat, kDouble, kBoolean, kBlob,
  kTimestamp, kBigInteger, kBigDecimal,
};

enum class Location { kBody, kHeader, kHeaders, kUri, kQueryString, kStatusCode };

struct Shape;

// A reference to a shape from a structure member, a list member or a map key/value, with the
// serialization traits that belong to the reference.
// Traits few members have, kept out of line (a model holds thousands of members).
struct RareMemberTraits {
  std::string query_name;      // ec2-style queryName
  std::string timestamp_format;
  std::string xml_namespace_uri;
  std::string xml_namespace_prefix;
};

struct Member {
  std::string name;            // member name (structure members), empty otherwise
  const Shape* shape = nullptr;
  Location location = Location::kBody;
  std::string location_name;   // wire name: header, query key, uri label, XML element
  std::shared_ptr<const RareMemberTraits> rare;  // null when none is set
  bool xml_attribute = false;
  bool flattened = false;      // member-level flattened trait
  bool required = false;
  bool idempotency_token = false;
  bool json_value = false;     // a header carrying base64 JSON (jsonvalue)
  bool host_label = false;
  bool streaming = false;
  bool event_payload = false;

  // The name on the wire in body protocols: location_name when set, else name.
  const std::string& wire_name() const { return location_name.empty() ? name : location_name; }
  const std::string& query_name() const { return rare ? rare->query_name : kNoTrait; }
  const std::string& timestamp_format() const { return rare ? rare->timestamp_format : kNoTrait; }
  const std::string& xml_namespace_uri() const { return rare ? rare->xml_namespace_uri : kNoTrait; }
  const std::string& xml_namespace_prefix() const { return rare ? rare->xml_namespace_prefix : kNoTrait; }

 private:
  static const std::string kNoTrait;
};

struct Shape {
  std::string name;
  ShapeType type = ShapeType::kString;

  // kStructure
  std::vector<Member> members;
  std::string payload;          // member carried as the HTTP body (REST protocols)
  bool is_union = false;
  bool exception = false;
  bool document = false;
  bool event_stream = false;
  // error trait
  std::string error_code;       // wire code when it differs from the shape name (SQS query)
  int error_status = 0;         // 0 = not given
  bool error_sender_fault = true;

  // kList / kMap: the list's member, the map's key and value (allocated for lists and maps only;
  // other shapes answer an empty Member).
  struct ContainerTraits {
    Member member;
    Member key;
    Member value;
  };
  std::unique_ptr<ContainerTraits> container;
  const Member& member() const { return container ? container->member : kNoMember; }
  const Member& key() const { return container ? container->key : kNoMember; }
  const Member& value() const { return container ? container->value : kNoMember; }
  bool flattened = false;

  // scalars
  std::vector<std::string> enum_values;
  std::optional<double> min;
  std::optional<double> max;
  std::string timestamp_format;
  std::string location_name;    // shape-level XML name
  std::string xml_namespace_uri;
  bool streaming = false;
  bool requires_length = false;
  bool sensitive = false;

  const Member* find_member(std::string_view member_name) const;
  static const Member kNoMember;
  bool is_scalar() const { return type != ShapeType::kStructure && type != ShapeType::kList && type != ShapeType::kMap; }
};

// A piece of a REST request URI template: literal text or a {Label} / {Label+} (greedy).
struct UriSegment {
  std::string text;  // literal, or label name
  bool is_label = false;
  bool greedy = false;
};

struct Operation {
  std::string name;
  std::string http_method = "POST";
  std::string request_uri = "/";
  int response_code = 200;
  std::vector<UriSegment> path_segments;                      // parsed path of request_uri
  std::vector<std::pair<std::string, std::string>> uri_query;  // literal query in request_uri
  const Shape* input = nullptr;
  const Shape* output = nullptr;
  std::string input_location_name;   // XML root of the input payload (REST-XML)
  std::string input_xml_namespace;
  std::string result_wrapper;        // query protocol: <XResult>
  std::vector<const Shape*> errors;
  std::string host_prefix;
  bool auth_none = false;
  bool deprecated = false;            // loses ties when routing (S3's GetBucketLifecycle)
  bool unsigned_payload = false;
  std::string checksum_algorithm_member;  // httpChecksum.requestAlgorithmMember
  bool checksum_required = false;
};

// The REST routing table of one HTTP method: its operations grouped by path template, so that a
// template shared by many operations (S3 has some forty GET operations on "/{Bucket}") is matched
// against a request's path once.
struct RouteGroup {
  const std::vector<UriSegment>* segments = nullptr;
  std::vector<const Operation*> operations;
};
struct MethodRoutes {
  std::string method;
  std::vector<RouteGroup> groups;
};

struct ServiceModel {
  std::string name;             // sless's name: "sqs", "sqs-query", "dynamodb", ...
  Protocol protocol = Protocol::kJson;
  std::string json_version;     // "1.0" / "1.1"
  std::string target_prefix;    // X-Amz-Target prefix
  std::string signing_name;
  std::string endpoint_prefix;
  std::string api_version;
  std::string xml_namespace;
  std::string service_id;
  bool aws_query_compatible = false;
  // Some body member's JSON key differs from its member name (API Gateway's camelCase).
  bool json_renames = false;

  std::unordered_map<std::string, std::unique_ptr<Shape>> shapes;
  std::unordered_map<std::string, Operation> operations;
  std::vector<MethodRoutes> rest_routes;  // built with the operations; they do not change after

  // The groups of operations bound to an HTTP method, or null when there are none.
  const std::vector<RouteGroup>* routes_for(std::string_view method) const;

  const Operation* find_operation(std::string_view op) const;
  const Shape* find_shape(std::string_view shape) const;
  // The error shape for a code: by shape name, or by its wire error code.
  const Shape* find_error(std::string_view code) const;
  // Operations in a stable (sorted) order.
  std::vector<const Operation*> sorted_operations() const;
};

// The models embedded in this binary. Thread-safe; each model is parsed on first use.
class ModelRegistry {
 public:
  static ModelRegistry& instance();

  // nullptr for an unknown service name.
  const ServiceModel* get(std::string_view service) const;
  // Names of every embedded model ("apigateway", ..., "sqs", "sqs-query", ...).
  std::vector<std::string> names() const;
  // The embedded JSON text of a model ("" for an unknown name).
  std::string_view text(std::string_view service) const;

  // Parses a model from its JSON text (tests and the loader use this).
  static std::unique_ptr<ServiceModel> parse(std::string_view name, std::string_view json_text);

 private:
  ModelRegistry();
  struct Entry;
  std::vector<std::unique_ptr<Entry>> entries_;
};

const char* to_string(Protocol p);
const char* to_string(ShapeType t);

}  // namespace sless::protocol
