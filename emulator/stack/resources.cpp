// The resource types of stacks and how each is created and deleted through its service.
#include <filesystem>
#include <future>

#include "core/config.h"
#include "core/ids.h"
#include "core/log.h"
#include "protocol/model.h"
#include "services/apigateway/apigateway.h"
#include "services/lambda/lambda.h"
#include "services/registry.h"
#include "stack/intrinsics.h"
#include "stack/resource_types.h"
#include "stack/sam_apis.h"

namespace sless::stack {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

// Templates give numbers and booleans as strings at times; the models want them typed.
void coerce(const protocol::Shape* shape, json& v) {
  if (!shape) return;
  switch (shape->type) {
    case protocol::ShapeType::kStructure:
      if (v.is_object()) {
        for (auto& [k, child] : v.items()) {
          if (const protocol::Member* m = shape->find_member(k)) coerce(m->shape, child);
        }
      }
      break;
    case protocol::ShapeType::kList:
      if (v.is_array()) {
        for (auto& child : v) coerce(shape->member().shape, child);
      }
      break;
    case protocol::ShapeType::kMap:
      if (v.is_object()) {
        for (auto& [_, child] : v.items()) coerce(shape->value().shape, child);
      }
      break;
    case protocol::ShapeType::kInteger:
    case protocol::ShapeType::kLong:
      if (v.is_string()) {
        const std::string& s = v.get_ref<const std::string&>();
        if (!s.empty() && s.find_first_not_of("-0123456789") == std::string::npos) v = std::stoll(s);
      }
      break;
    case protocol::ShapeType::kBoolean:
      if (v.is_string()) {
        if (v == "true") v = true;
        if (v == "false") v = false;
      }
      break;
    case protocol::ShapeType::kString:
      if (v.is_number() || v.is_boolean()) v = scalar_text(v);
      break;
    default:
      break;
  }
}

json pick(const json& props, std::initializer_list<const char*> keys) {
  json out = json::object();
  for (const char* k : keys) {
    if (props.contains(k)) out[k] = props[k];
  }
  return out;
}

// A plugin path from CodeUri / Code: a .so file, or a folder holding exactly one.
Result<std::string> plugin_path(const Provisioner& p, const std::string& uri) {
  fs::path path(uri);
  if (path.is_relative()) path = fs::path(p.template_dir) / path;
  std::error_code ec;
  path = fs::weakly_canonical(path, ec);
  if (fs::is_regular_file(path, ec)) return path.string();
  if (fs::is_directory(path, ec)) {
    std::vector<fs::path> found;
    for (const auto& e : fs::directory_iterator(path, ec)) {
      if (e.is_regular_file() && e.path().extension() == ".so") found.push_back(e.path());
    }
    if (found.size() == 1) return found.front().string();
    return Status::invalid_argument("CodeUri " + uri + " is a folder with " + std::to_string(found.size()) +
                                    " plugins (.so files); name the plugin file");
  }
  return Status::not_found("CodeUri " + uri + ": no such plugin file (build the functions first)");
}

Result<Deployed> create_function(Provisioner& p, const std::string& logical, const json& props, bool sam) {
  std::string code;
  if (sam) {
    if (props.contains("InlineCode")) return Status::invalid_argument("InlineCode is not supported: functions are C++ plugins");
    code = text_member(props, "CodeUri");
  } else {
    const json& c = props.value("Code", json::object());
    if (c.is_string()) {
      code = c.get<std::string>();
    } else if (c.contains("ZipFile")) {
      return Status::invalid_argument("Code.ZipFile is not supported: functions are C++ plugins");
    } else {
      code = text_member(c, "S3Key");
    }
  }
  auto path = plugin_path(p, code);
  if (!path.ok()) return path.status();
  std::string name = text_member(props, "FunctionName", logical);
  json params = pick(props, {"Timeout", "MemorySize", "Environment", "Description", "Tags", "DeadLetterConfig",
                             "TracingConfig", "EphemeralStorage"});
  if (params.contains("Tags") && params["Tags"].is_array()) {  // CloudFormation's [{Key, Value}] form
    json tags = json::object();
    for (const auto& t : params["Tags"]) tags[text_member(t, "Key")] = text_member(t, "Value");
    params["Tags"] = tags;
  }
  params["FunctionName"] = name;
  params["Runtime"] = text_member(props, "Runtime", "provided.al2023");
  params["Handler"] = text_member(props, "Handler");
  params["Role"] = text_member(props, "Role", "arn:aws:iam::" + p.account + ":role/" + logical + "Role");
  params["Code"] = json{{"S3Bucket", "hot-reload"}, {"S3Key", path.value()}};
  auto out = p.call("lambda", "CreateFunction", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = name;
  d.attributes["Arn"] = out.value().value("FunctionArn", "");
  if (props.contains("ReservedConcurrentExecutions")) {
    auto c = p.call("lambda", "PutFunctionConcurrency",
                    json{{"FunctionName", name}, {"ReservedConcurrentExecutions", props["ReservedConcurrentExecutions"]}});
    if (!c.ok()) {
      (void)p.call("lambda", "DeleteFunction", json{{"FunctionName", name}});
      return c.status();
    }
  }
  return d;
}

// Each function created is proven to load by a cold start; the zygote that serves them starts
// first, while the stack's other resources and the functions' code are being set up.
void prepare_functions(Provisioner& p) {
  if (auto* lambda = p.registry().get<services::lambda::LambdaService>("lambda")) lambda->prepare_host();
}

Status remove_function(Provisioner& p, const Deployed& d) {
  return p.call("lambda", "DeleteFunction", json{{"FunctionName", d.physical_id}}).status();
}

Result<Deployed> create_api(Provisioner& p, const std::string& logical, const json& props, const Deployed* previous,
                            bool http) {
  auto* apigw = p.registry().get<services::apigateway::ApiGatewayService>("apigateway");
  if (!apigw) return Status::internal("the API Gateway service is missing");
  auto def = http ? http_api_document(p, logical, props) : rest_api_document(p, logical, props);
  if (!def.ok()) return def.status();
  std::string stage = def.value().value("__stage", "");
  std::string root = http ? std::string() : def.value()["api"].value("rootResourceId", "");
  def.value().erase("__stage");
  auto id = apigw->put_api(p.account, p.region, previous ? previous->physical_id : "", std::move(def).value());
  if (!id.ok()) return Status::invalid_argument(id.error().message);
  Deployed d;
  d.physical_id = id.value();
  d.data["stage"] = stage;
  d.data["http"] = http;
  if (http) {
    d.attributes["ApiEndpoint"] = "http://" + id.value() + ".execute-api.localhost";
  } else {
    d.attributes["RootResourceId"] = root;
  }
  return d;
}

Status remove_api(Provisioner& p, const Deployed& d) {
  auto* apigw = p.registry().get<services::apigateway::ApiGatewayService>("apigateway");
  return apigw ? apigw->delete_api(p.account, p.region, d.physical_id) : Status::ok();
}

json table_params(const json& props, const std::string& name) {
  json params = pick(props, {"KeySchema", "AttributeDefinitions", "BillingMode", "ProvisionedThroughput",
                             "GlobalSecondaryIndexes", "LocalSecondaryIndexes", "TableClass", "Tags",
                             "DeletionProtectionEnabled"});
  params["TableName"] = name;
  if (props.contains("StreamSpecification")) {
    params["StreamSpecification"] = json{{"StreamEnabled", true},
                                         {"StreamViewType", text_member(props["StreamSpecification"], "StreamViewType")}};
  }
  return params;
}

Result<Deployed> finish_table(Provisioner& p, const json& props, const std::string& name, const json& out) {
  Deployed d;
  d.physical_id = name;
  const json desc = out.value("TableDescription", json::object());
  d.attributes["Arn"] = desc.value("TableArn", "arn:aws:dynamodb:" + p.region + ":" + p.account + ":table/" + name);
  if (desc.contains("LatestStreamArn")) d.attributes["StreamArn"] = desc["LatestStreamArn"];
  if (props.contains("TimeToLiveSpecification")) {
    auto ttl = p.call("dynamodb", "UpdateTimeToLive",
                      json{{"TableName", name}, {"TimeToLiveSpecification", props["TimeToLiveSpecification"]}});
    if (!ttl.ok()) {
      (void)p.call("dynamodb", "DeleteTable", json{{"TableName", name}});
      return ttl.status();
    }
  }
  return d;
}

Result<Deployed> create_table(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  std::string name = text_member(props, "TableName", logical);
  auto out = p.call("dynamodb", "CreateTable", table_params(props, name));
  if (!out.ok()) return out.status();
  return finish_table(p, props, name, out.value());
}

Result<Deployed> create_simple_table(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  std::string name = text_member(props, "TableName", logical);
  json key = props.value("PrimaryKey", json{{"Name", "id"}, {"Type", "String"}});
  std::string type = text_member(key, "Type", "String");
  json params{{"TableName", name},
              {"KeySchema", json::array({json{{"AttributeName", text_member(key, "Name", "id")}, {"KeyType", "HASH"}}})},
              {"AttributeDefinitions", json::array({json{{"AttributeName", text_member(key, "Name", "id")},
                                                         {"AttributeType", type == "Number" ? "N" : type == "Binary" ? "B" : "S"}}})}};
  if (props.contains("ProvisionedThroughput")) {
    params["BillingMode"] = "PROVISIONED";
    params["ProvisionedThroughput"] = props["ProvisionedThroughput"];
  } else {
    params["BillingMode"] = "PAY_PER_REQUEST";
  }
  if (props.contains("Tags") && props["Tags"].is_object()) {
    for (const auto& [k, v] : props["Tags"].items()) params["Tags"].push_back(json{{"Key", k}, {"Value", v}});
  }
  auto out = p.call("dynamodb", "CreateTable", params);
  if (!out.ok()) return out.status();
  return finish_table(p, json::object(), name, out.value());
}

Status remove_table(Provisioner& p, const Deployed& d) {
  return p.call("dynamodb", "DeleteTable", json{{"TableName", d.physical_id}}).status();
}

Result<Deployed> create_queue(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  bool fifo = text_member(props, "FifoQueue") == "true";
  std::string name = text_member(props, "QueueName", logical + (fifo ? ".fifo" : ""));
  json attrs = json::object();
  for (const auto& [k, v] : props.items()) {
    if (k == "QueueName" || k == "Tags") continue;
    attrs[k] = v.is_object() || v.is_array() ? v.dump() : scalar_text(v);
  }
  json params{{"QueueName", name}, {"Attributes", attrs}};
  if (props.contains("Tags") && props["Tags"].is_array()) {
    for (const auto& t : props["Tags"]) params["tags"][text_member(t, "Key")] = text_member(t, "Value");
  }
  auto out = p.call("sqs", "CreateQueue", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = out.value().value("QueueUrl", "");
  d.attributes["QueueUrl"] = d.physical_id;
  d.attributes["QueueName"] = name;
  d.attributes["Arn"] = "arn:aws:sqs:" + p.region + ":" + p.account + ":" + name;
  return d;
}

Status remove_queue(Provisioner& p, const Deployed& d) {
  return p.call("sqs", "DeleteQueue", json{{"QueueUrl", d.physical_id}}).status();
}

Result<Deployed> create_topic(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  bool fifo = text_member(props, "FifoTopic") == "true";
  std::string name = text_member(props, "TopicName", logical + (fifo ? ".fifo" : ""));
  json attrs = json::object();
  for (const char* k : {"DisplayName", "FifoTopic", "ContentBasedDeduplication", "KmsMasterKeyId", "DeliveryPolicy"}) {
    if (props.contains(k)) attrs[k] = props[k].is_object() ? props[k].dump() : scalar_text(props[k]);
  }
  json params{{"Name", name}};
  if (!attrs.empty()) params["Attributes"] = attrs;
  if (props.contains("Tags")) params["Tags"] = props["Tags"];
  auto out = p.call("sns", "CreateTopic", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = out.value().value("TopicArn", "");
  d.attributes["TopicArn"] = d.physical_id;
  d.attributes["TopicName"] = name;
  for (const auto& s : props.value("Subscription", json::array())) {
    auto sub = p.call("sns", "Subscribe", json{{"TopicArn", d.physical_id}, {"Protocol", text_member(s, "Protocol")},
                                               {"Endpoint", text_member(s, "Endpoint")}});
    if (!sub.ok()) {
      (void)p.call("sns", "DeleteTopic", json{{"TopicArn", d.physical_id}});
      return sub.status();
    }
  }
  return d;
}

Status remove_topic(Provisioner& p, const Deployed& d) {
  return p.call("sns", "DeleteTopic", json{{"TopicArn", d.physical_id}}).status();
}

Result<Deployed> create_subscription(Provisioner& p, const std::string&, const json& props, const Deployed*) {
  json attrs = json::object();
  for (const char* k : {"FilterPolicy", "FilterPolicyScope", "RawMessageDelivery", "RedrivePolicy", "DeliveryPolicy"}) {
    if (props.contains(k)) attrs[k] = props[k].is_object() ? props[k].dump() : scalar_text(props[k]);
  }
  json params{{"TopicArn", text_member(props, "TopicArn")}, {"Protocol", text_member(props, "Protocol")},
              {"Endpoint", text_member(props, "Endpoint")}, {"ReturnSubscriptionArn", true}};
  if (!attrs.empty()) params["Attributes"] = attrs;
  auto out = p.call("sns", "Subscribe", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = out.value().value("SubscriptionArn", "");
  return d;
}

Status remove_subscription(Provisioner& p, const Deployed& d) {
  return p.call("sns", "Unsubscribe", json{{"SubscriptionArn", d.physical_id}}).status();
}

Result<Deployed> create_stream(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  std::string name = text_member(props, "Name", logical);
  json params{{"StreamName", name}};
  if (props.contains("StreamModeDetails")) params["StreamModeDetails"] = props["StreamModeDetails"];
  if (text_member(props.value("StreamModeDetails", json::object()), "StreamMode") != "ON_DEMAND") {
    params["ShardCount"] = props.value("ShardCount", json(1));
  }
  auto out = p.call("kinesis", "CreateStream", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = name;
  d.attributes["Arn"] = "arn:aws:kinesis:" + p.region + ":" + p.account + ":stream/" + name;
  return d;
}

Status remove_stream(Provisioner& p, const Deployed& d) {
  return p.call("kinesis", "DeleteStream", json{{"StreamName", d.physical_id}, {"EnforceConsumerDeletion", true}}).status();
}

json s3_filter(const json& filter) {
  json rules = json::array();
  for (const auto& r : filter.value("S3Key", json::object()).value("Rules", json::array())) {
    rules.push_back(json{{"Name", text_member(r, "Name")}, {"Value", text_member(r, "Value")}});
  }
  return json{{"Key", json{{"FilterRules", rules}}}};
}

Result<Deployed> create_bucket(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  std::string lower;
  for (char c : logical) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string name = text_member(props, "BucketName", lower);
  json params{{"Bucket", name}};
  if (p.region != "us-east-1") params["CreateBucketConfiguration"] = json{{"LocationConstraint", p.region}};
  auto out = p.call("s3", "CreateBucket", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = name;
  d.attributes["Arn"] = "arn:aws:s3:::" + name;
  d.attributes["DomainName"] = name + ".s3.localhost";
  d.attributes["RegionalDomainName"] = name + ".s3." + p.region + ".localhost";
  auto undo = [&](Status st) {
    (void)p.call("s3", "DeleteBucket", json{{"Bucket", name}});
    return st;
  };
  if (props.contains("VersioningConfiguration")) {
    auto v = p.call("s3", "PutBucketVersioning",
                    json{{"Bucket", name}, {"VersioningConfiguration", pick(props["VersioningConfiguration"], {"Status"})}});
    if (!v.ok()) return undo(v.status());
  }
  if (props.contains("CorsConfiguration")) {
    json rules = json::array();
    for (const auto& r : props["CorsConfiguration"].value("CorsRules", json::array())) {
      json rule = pick(r, {"AllowedHeaders", "AllowedMethods", "AllowedOrigins"});
      if (r.contains("ExposedHeaders")) rule["ExposeHeaders"] = r["ExposedHeaders"];
      if (r.contains("Id")) rule["ID"] = r["Id"];
      if (r.contains("MaxAge")) rule["MaxAgeSeconds"] = r["MaxAge"];
      rules.push_back(rule);
    }
    auto c = p.call("s3", "PutBucketCors", json{{"Bucket", name}, {"CORSConfiguration", {{"CORSRules", rules}}}});
    if (!c.ok()) return undo(c.status());
  }
  if (props.contains("NotificationConfiguration")) {
    const json& n = props["NotificationConfiguration"];
    json conf = json::object();
    for (const auto& [src, dst, target] : {std::tuple{"LambdaConfigurations", "LambdaFunctionConfigurations", "Function"},
                                           std::tuple{"QueueConfigurations", "QueueConfigurations", "Queue"},
                                           std::tuple{"TopicConfigurations", "TopicConfigurations", "Topic"}}) {
      for (const auto& c : n.value(src, json::array())) {
        const char* arn_key = std::string_view(target) == "Function" ? "LambdaFunctionArn"
                              : std::string_view(target) == "Queue"  ? "QueueArn"
                                                                     : "TopicArn";
        json entry{{arn_key, text_member(c, target)}, {"Events", json::array({text_member(c, "Event")})}};
        if (c.contains("Filter")) entry["Filter"] = s3_filter(c["Filter"]);
        conf[dst].push_back(entry);
      }
    }
    if (n.contains("EventBridgeConfiguration")) conf["EventBridgeConfiguration"] = json::object();
    auto c = p.call("s3", "PutBucketNotificationConfiguration", json{{"Bucket", name}, {"NotificationConfiguration", conf}});
    if (!c.ok()) return undo(c.status());
  }
  return d;
}

Status remove_bucket(Provisioner& p, const Deployed& d) {
  return p.call("s3", "DeleteBucket", json{{"Bucket", d.physical_id}}).status();
}

Result<Deployed> create_mapping(Provisioner& p, const std::string&, const json& props, const Deployed*) {
  json params = pick(props, {"FunctionName", "EventSourceArn", "BatchSize", "Enabled", "StartingPosition",
                             "StartingPositionTimestamp", "MaximumBatchingWindowInSeconds", "FilterCriteria",
                             "FunctionResponseTypes", "ScalingConfig", "BisectBatchOnFunctionError",
                             "MaximumRetryAttempts", "MaximumRecordAgeInSeconds", "ParallelizationFactor",
                             "DestinationConfig", "TumblingWindowInSeconds"});
  auto out = p.call("lambda", "CreateEventSourceMapping", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = out.value().value("UUID", "");
  return d;
}

Status remove_mapping(Provisioner& p, const Deployed& d) {
  return p.call("lambda", "DeleteEventSourceMapping", json{{"UUID", d.physical_id}}).status();
}

Result<Deployed> create_rule(Provisioner& p, const std::string& logical, const json& props, const Deployed*) {
  std::string name = text_member(props, "Name", logical);
  json params = pick(props, {"ScheduleExpression", "State", "Description", "EventBusName"});
  params["Name"] = name;
  if (props.contains("EventPattern")) {
    params["EventPattern"] = props["EventPattern"].is_string() ? props["EventPattern"].get<std::string>()
                                                               : props["EventPattern"].dump();
  }
  auto out = p.call("events", "PutRule", params);
  if (!out.ok()) return out.status();
  Deployed d;
  d.physical_id = name;
  d.attributes["Arn"] = out.value().value("RuleArn", "");
  d.data["bus"] = text_member(props, "EventBusName", "default");
  json targets = json::array();
  for (const auto& t : props.value("Targets", json::array())) {
    targets.push_back(pick(t, {"Id", "Arn", "Input", "InputPath", "RoleArn"}));
    d.data["targets"].push_back(text_member(t, "Id"));
  }
  if (!targets.empty()) {
    auto t = p.call("events", "PutTargets", json{{"Rule", name}, {"EventBusName", d.data["bus"]}, {"Targets", targets}});
    if (!t.ok()) {
      (void)p.call("events", "DeleteRule", json{{"Name", name}, {"EventBusName", d.data["bus"]}});
      return t.status();
    }
  }
  return d;
}

Status remove_rule(Provisioner& p, const Deployed& d) {
  if (d.data.contains("targets")) {
    (void)p.call("events", "RemoveTargets",
                 json{{"Rule", d.physical_id}, {"EventBusName", d.data.value("bus", "default")}, {"Ids", d.data["targets"]}});
  }
  return p.call("events", "DeleteRule", json{{"Name", d.physical_id}, {"EventBusName", d.data.value("bus", "default")}})
      .status();
}

std::vector<ResourceType> make_types() {
  using K = Kind;
  std::vector<ResourceType> t;
  std::vector<PropSpec> function_props = {
      {"Handler", K::kString, true}, {"Runtime", K::kString}, {"Timeout", K::kInteger}, {"MemorySize", K::kInteger},
      {"Environment", K::kMap}, {"ReservedConcurrentExecutions", K::kInteger}, {"FunctionName", K::kString},
      {"Description", K::kString}};
  auto sam_function = function_props;
  sam_function.push_back({"CodeUri", K::kString, true});
  sam_function.push_back({"Events", K::kMap});
  t.push_back({"AWS::Serverless::Function", sam_function, {{"lambda", "CreateFunction"}, {"lambda", "DeleteFunction"}},
               [](Provisioner& p, const std::string& l, const json& props, const Deployed*) {
                 return create_function(p, l, props, true);
               },
               remove_function});
  t.back().prepare = prepare_functions;
  auto lambda_function = function_props;
  lambda_function.push_back({"Code", K::kAny, true});
  t.push_back({"AWS::Lambda::Function", lambda_function, {{"lambda", "CreateFunction"}, {"lambda", "DeleteFunction"}},
               [](Provisioner& p, const std::string& l, const json& props, const Deployed*) {
                 return create_function(p, l, props, false);
               },
               remove_function});
  t.back().prepare = prepare_functions;
  t.push_back({"AWS::Serverless::Api",
               {{"StageName", K::kString, true}, {"Name", K::kString}, {"Auth", K::kMap}, {"BinaryMediaTypes", K::kList},
                {"Variables", K::kMap}, {"Cors", K::kAny}},
               {},
               [](Provisioner& p, const std::string& l, const json& props, const Deployed* prev) {
                 return create_api(p, l, props, prev, false);
               },
               remove_api, true});
  t.push_back({"AWS::Serverless::HttpApi",
               {{"StageName", K::kString}, {"Name", K::kString}, {"Auth", K::kMap}, {"StageVariables", K::kMap},
                {"CorsConfiguration", K::kAny}},
               {},
               [](Provisioner& p, const std::string& l, const json& props, const Deployed* prev) {
                 return create_api(p, l, props, prev, true);
               },
               remove_api, true});
  t.push_back({"AWS::DynamoDB::Table",
               {{"KeySchema", K::kList, true}, {"AttributeDefinitions", K::kList, true}, {"TableName", K::kString},
                {"BillingMode", K::kString}, {"ProvisionedThroughput", K::kMap}, {"GlobalSecondaryIndexes", K::kList},
                {"LocalSecondaryIndexes", K::kList}, {"StreamSpecification", K::kMap},
                {"TimeToLiveSpecification", K::kMap}},
               {{"dynamodb", "CreateTable"}, {"dynamodb", "DeleteTable"}}, create_table, remove_table});
  t.push_back({"AWS::Serverless::SimpleTable",
               {{"PrimaryKey", K::kMap}, {"TableName", K::kString}, {"ProvisionedThroughput", K::kMap}},
               {{"dynamodb", "CreateTable"}, {"dynamodb", "DeleteTable"}}, create_simple_table, remove_table});
  t.push_back({"AWS::SQS::Queue",
               {{"QueueName", K::kString}, {"DelaySeconds", K::kInteger}, {"VisibilityTimeout", K::kInteger},
                {"MessageRetentionPeriod", K::kInteger}, {"MaximumMessageSize", K::kInteger},
                {"ReceiveMessageWaitTimeSeconds", K::kInteger}, {"FifoQueue", K::kBoolean},
                {"ContentBasedDeduplication", K::kBoolean}, {"RedrivePolicy", K::kAny}},
               {{"sqs", "CreateQueue"}, {"sqs", "DeleteQueue"}}, create_queue, remove_queue});
  t.push_back({"AWS::SNS::Topic",
               {{"TopicName", K::kString}, {"DisplayName", K::kString}, {"FifoTopic", K::kBoolean},
                {"Subscription", K::kList}},
               {{"sns", "CreateTopic"}, {"sns", "DeleteTopic"}}, create_topic, remove_topic});
  t.push_back({"AWS::SNS::Subscription",
               {{"TopicArn", K::kString, true}, {"Protocol", K::kString, true}, {"Endpoint", K::kString},
                {"FilterPolicy", K::kAny}, {"RawMessageDelivery", K::kBoolean}},
               {{"sns", "Subscribe"}, {"sns", "Unsubscribe"}}, create_subscription, remove_subscription});
  t.push_back({"AWS::Kinesis::Stream",
               {{"Name", K::kString}, {"ShardCount", K::kInteger}, {"StreamModeDetails", K::kMap}},
               {{"kinesis", "CreateStream"}, {"kinesis", "DeleteStream"}}, create_stream, remove_stream});
  t.push_back({"AWS::S3::Bucket",
               {{"BucketName", K::kString}, {"NotificationConfiguration", K::kMap}, {"CorsConfiguration", K::kMap},
                {"VersioningConfiguration", K::kMap}},
               {{"s3", "CreateBucket"}, {"s3", "DeleteBucket"}}, create_bucket, remove_bucket});
  t.push_back({"AWS::Lambda::EventSourceMapping",
               {{"FunctionName", K::kString, true}, {"EventSourceArn", K::kString, true}, {"BatchSize", K::kInteger},
                {"Enabled", K::kBoolean}, {"StartingPosition", K::kString}},
               {{"lambda", "CreateEventSourceMapping"}, {"lambda", "DeleteEventSourceMapping"}}, create_mapping,
               remove_mapping});
  t.push_back({"AWS::Events::Rule",
               {{"Name", K::kString}, {"ScheduleExpression", K::kString}, {"EventPattern", K::kAny},
                {"Targets", K::kList}, {"State", K::kString}},
               {{"events", "PutRule"}, {"events", "PutTargets"}, {"events", "DeleteRule"}}, create_rule, remove_rule});
  return t;
}

}  // namespace

Result<json> Provisioner::call(const std::string& model, const std::string& op, json params) {
  if (const auto* m = protocol::ModelRegistry::instance().get(model)) {
    if (const auto* o = m->find_operation(op); o && o->input) coerce(o->input, params);
  }
  services::RequestContext ctx;
  ctx.request_id = ids::uuid();
  ctx.account = account;
  ctx.region = region;
  ctx.endpoint = endpoint;
  ctx.now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  auto promise = std::make_shared<std::promise<Outcome<protocol::OperationOutput>>>();
  auto future = promise->get_future();
  registry_.call(model, op, std::move(params), std::move(ctx),
                 [promise](Outcome<protocol::OperationOutput> out) { promise->set_value(std::move(out)); });
  auto out = future.get();
  if (!out.ok()) return Status::invalid_argument(model + "." + op + ": " + out.error().code + ": " + out.error().message);
  return std::move(out).value().result;
}

const ResourceType* find_resource_type(const std::string& name) {
  static const std::vector<ResourceType> kTypes = make_types();
  for (const auto& t : kTypes) {
    if (name == t.name) return &t;
  }
  return nullptr;
}

}  // namespace sless::stack
