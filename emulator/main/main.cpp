// The `sless` command: `up` runs the daemon; `status`, `version` and `--help` describe it.
// The only code not linked into the tests.
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>
#include <thread>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "core/config.h"
#include "core/log.h"
#include "core/time_format.h"
#include "daemon/daemon.h"
#include "host/worker.h"
#include "http/client.h"
#include "services/registry.h"
#include "stack/stack.h"

namespace {

using sless::Config;

// --parameter-overrides: "Key=Value" words (several per argument, space separated, as SAM takes
// them) or "ParameterKey=Key,ParameterValue=Value".
bool parse_overrides(const std::vector<std::string>& args, std::map<std::string, std::string>& out) {
  for (const auto& arg : args) {
    size_t pos = 0;
    while (pos < arg.size()) {
      size_t end = arg.find(' ', pos);
      std::string word = arg.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
      pos = end == std::string::npos ? arg.size() : end + 1;
      if (word.empty()) continue;
      if (word.rfind("ParameterKey=", 0) == 0) {
        auto comma = word.find(",ParameterValue=");
        if (comma == std::string::npos) return false;
        out[word.substr(13, comma - 13)] = word.substr(comma + 16);
        continue;
      }
      auto eq = word.find('=');
      if (eq == std::string::npos || eq == 0) return false;
      out[word.substr(0, eq)] = word.substr(eq + 1);
    }
  }
  return true;
}

// The template `up` and `validate` use: --template, else ./template.yaml (or .yml/.json) if present.
std::string find_template(const std::string& given) {
  if (!given.empty()) return given;
  for (const char* name : {"template.yaml", "template.yml", "template.json"}) {
    if (std::filesystem::exists(name)) return name;
  }
  return {};
}

int run_validate(const std::string& file, const std::map<std::string, std::string>& overrides, const std::string& region) {
  if (file.empty()) {
    std::fprintf(stderr, "sless validate: no template (give --template FILE or run in a folder with template.yaml)\n");
    return 2;
  }
  sless::stack::StackOptions options;
  options.template_path = file;
  options.parameter_overrides = overrides;
  options.region = region;
  sless::services::Registry registry;
  auto plan = sless::stack::plan_stack(options, &registry);
  if (!plan.ok()) {
    std::fprintf(stderr, "%s\n", plan.status().message().c_str());
    return 1;
  }
  std::printf("%s: valid, %zu resources\n", file.c_str(), plan.value().resources.size());
  for (const auto& r : plan.value().resources) std::printf("  %s (%s)\n", r.logical_id.c_str(), r.type.c_str());
  return 0;
}

int run_up(Config config, const std::string& level) {
  sless::log::Level l;
  if (!sless::log::parse_level(level, &l)) {
    std::fprintf(stderr, "sless: invalid --log-level '%s' (trace, debug, info, warn, error, off)\n", level.c_str());
    return 2;
  }
  sless::log::set_level(l);
  config.log_level = l;
  std::error_code ec;
  config.worker_binary = std::filesystem::canonical("/proc/self/exe", ec).string();
  if (config.threads == 0) {
    unsigned n = std::thread::hardware_concurrency();
    config.threads = n ? n : 1;
  }

  // Signals are taken by sigwait below; block them before any thread starts so none inherits them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  sless::Daemon daemon(config);
  if (sless::Status st = daemon.start(); !st.is_ok()) {
    std::fprintf(stderr, "sless: %s\n", st.to_string().c_str());
    return 1;
  }
  const Config& c = daemon.config();
  std::printf("sless %s listening on %s (%s)\n", SLESS_VERSION, daemon.endpoint().c_str(),
              c.in_memory ? "in memory" : ("data dir " + c.data_dir).c_str());
  for (const auto& line : daemon.stack_notes()) std::printf("%s\n", line.c_str());
  std::printf("ready\n");
  std::fflush(stdout);
  daemon.settle();

  int sig = 0;
  sigwait(&signals, &sig);
  sless::log::info("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  daemon.stop();
  std::printf("stopped\n");
  std::fflush(stdout);
  return 0;
}

int run_status(const std::string& data_dir, std::string endpoint, bool json_out) {
  if (endpoint.empty()) {
    std::ifstream f(std::filesystem::path(data_dir) / "daemon.json");
    nlohmann::json info = nlohmann::json::parse(f, nullptr, false);
    if (!f || info.is_discarded() || !info.contains("endpoint")) {
      std::printf("sless is not running (no daemon.json in %s)\n", data_dir.c_str());
      return 3;
    }
    endpoint = info["endpoint"].get<std::string>();
  }
  sless::http::ClientRequest req;
  req.url = endpoint + "/_sless/health";
  req.timeout = std::chrono::milliseconds(2000);
  auto res = sless::http::fetch(req);
  if (!res.ok() || res->status != 200) {
    std::printf("sless is not answering at %s%s%s\n", endpoint.c_str(), res.ok() ? "" : ": ",
                res.ok() ? "" : res.status().message().c_str());
    return 3;
  }
  if (json_out) {
    std::printf("%s\n", res->body.c_str());
    return 0;
  }
  auto health = nlohmann::json::parse(res->body, nullptr, false);
  if (health.is_discarded()) {
    std::printf("sless at %s answered an unreadable health document\n", endpoint.c_str());
    return 3;
  }
  std::printf("sless %s running at %s, up %.0f s, %s\n", health.value("version", "?").c_str(), endpoint.c_str(),
              health.value("uptime_seconds", 0.0),
              health.value("in_memory", false) ? "in memory" : ("data dir " + health.value("data_dir", std::string("?"))).c_str());
  for (const auto& [name, s] : health["services"].items()) {
    std::printf("  %-16s %s\n", name.c_str(), s.value("state", "?").c_str());
  }
  return 0;
}

std::string endpoint_from(const std::string& data_dir, const std::string& endpoint) {
  if (!endpoint.empty()) return endpoint;
  std::ifstream f(std::filesystem::path(data_dir) / "daemon.json");
  nlohmann::json info = nlohmann::json::parse(f, nullptr, false);
  if (!f || info.is_discarded() || !info.contains("endpoint")) return {};
  return info["endpoint"].get<std::string>();
}

// `sless logs <function>`: the function's log (CloudWatch Logs /aws/lambda/<name>), optionally
// following it.
int run_logs(const std::string& function, const std::string& endpoint, const std::string& region,
             const std::string& account, bool follow, int since_s, const std::string& filter) {
  if (endpoint.empty()) {
    std::fprintf(stderr, "sless is not running (give --endpoint or --data-dir)\n");
    return 3;
  }
  int64_t start_ms = -1;
  if (since_s > 0) {
    start_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count() - int64_t{since_s} * 1000;
  }
  std::set<std::string> seen;  // event ids at the last timestamp printed
  for (;;) {
    nlohmann::json req{{"logGroupName", "/aws/lambda/" + function}};
    if (start_ms >= 0) req["startTime"] = start_ms;
    if (!filter.empty()) req["filterPattern"] = filter;
    std::string token;
    bool more = true;
    while (more) {
      if (!token.empty()) req["nextToken"] = token;
      sless::http::ClientRequest r;
      r.method = "POST";
      r.url = endpoint + "/";
      r.headers.add("X-Amz-Target", "Logs_20140328.FilterLogEvents");
      r.headers.add("Content-Type", "application/x-amz-json-1.1");
      r.headers.add("Authorization", "AWS4-HMAC-SHA256 Credential=" + account + "/20250101/" + region +
                                         "/logs/aws4_request, SignedHeaders=host, Signature=0");
      r.body = req.dump();
      auto res = sless::http::fetch(r);
      if (!res.ok()) {
        std::fprintf(stderr, "sless logs: %s\n", res.status().message().c_str());
        return 3;
      }
      auto body = nlohmann::json::parse(res->body, nullptr, false);
      if (res->status != 200 || body.is_discarded()) {
        if (!follow) {
          std::fprintf(stderr, "sless logs: %s\n", body.is_discarded() ? res->body.c_str() : body.value("message", res->body).c_str());
          return 1;
        }
        break;  // the group may not exist yet
      }
      for (const auto& e : body["events"]) {
        std::string id = e.value("eventId", "");
        int64_t ts = e.value("timestamp", int64_t{0});
        if (seen.count(id)) continue;
        if (ts > start_ms) {
          seen.clear();
          start_ms = ts;
        }
        seen.insert(id);
        std::printf("%s %s\n", sless::timefmt::iso8601_ms(ts).c_str(), e.value("message", "").c_str());
      }
      std::fflush(stdout);
      token = body.value("nextToken", "");
      more = !token.empty();
      req.erase("nextToken");
    }
    if (!follow) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace

int main(int argc, char** argv) {
  // The function zygote (started by the daemon itself): no command line parsing, start fast.
  if (argc == 3 && std::string_view(argv[1]) == "__zygote") return sless::host::run_zygote(std::atoi(argv[2]));

  CLI::App app{"sless: a local AWS serverless emulator and C++ function host"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("sless ") + SLESS_VERSION);

  Config config;
  std::string level = "info";
  auto* up = app.add_subcommand("up", "Start the daemon serving the AWS APIs");
  up->add_option("--host", config.host, "Address to bind")->envname("SLESS_HOST")->capture_default_str();
  up->add_option("--port", config.port, "Port to bind (0 picks a free one)")->envname("SLESS_PORT")->capture_default_str();
  up->add_option("--data-dir", config.data_dir, "Directory of the durable state")->envname("SLESS_DATA_DIR")->capture_default_str();
  up->add_flag("--in-memory", config.in_memory, "Keep all state in memory (tests)")->envname("SLESS_IN_MEMORY");
  up->add_option("--log-level", level, "trace, debug, info, warn, error or off")->envname("SLESS_LOG_LEVEL")->capture_default_str();
  up->add_option("--region", config.region, "Region for requests that name none")->envname("SLESS_REGION")->capture_default_str();
  up->add_option("--lambda-retry-delay-ms", config.lambda_retry_delay_ms,
                 "Delay before an asynchronous invocation is retried (then twice it)")
      ->envname("SLESS_LAMBDA_RETRY_DELAY_MS")->capture_default_str();
  std::string template_file;
  std::vector<std::string> overrides;
  up->add_option("-t,--template", template_file, "SAM/CloudFormation template to deploy (default ./template.yaml)")
      ->envname("SLESS_TEMPLATE");
  up->add_option("--parameter-overrides", overrides, "Template parameters: Key=Value ...");
  up->add_option("--stack-name", config.stack_name, "Stack name (default: the template's folder name)");
  up->add_option("--api-port", config.api_port,
                 "Port of the stack's first API; further APIs take the next ports (0 picks free ports, -1 none)")
      ->envname("SLESS_API_PORT")->capture_default_str();
  up->add_option("--threads", config.threads, "I/O threads (0 = one per core)")->envname("SLESS_THREADS")->capture_default_str();

  std::string status_dir = ".sless";
  std::string status_endpoint;
  bool status_json = false;
  auto* status = app.add_subcommand("status", "Tell whether a daemon is up and what it serves");
  status->add_option("--data-dir", status_dir, "Data dir of the daemon to ask")->envname("SLESS_DATA_DIR")->capture_default_str();
  status->add_option("--endpoint", status_endpoint, "Ask this endpoint instead (http://host:port)");
  status->add_flag("--json", status_json, "Print the health document as JSON");

  std::string logs_function, logs_endpoint, logs_region = "us-east-1", logs_account = "000000000000", logs_filter;
  std::string logs_dir = ".sless";
  bool logs_follow = false;
  int logs_since = 0;
  auto* logs = app.add_subcommand("logs", "Print a function's log (/aws/lambda/<name>)");
  logs->add_option("function", logs_function, "Function name")->required();
  logs->add_flag("-f,--follow", logs_follow, "Keep printing new lines");
  logs->add_option("--since", logs_since, "Only lines from the last N seconds");
  logs->add_option("--filter", logs_filter, "CloudWatch Logs filter pattern (terms that must appear)");
  logs->add_option("--region", logs_region, "Region of the function")->envname("SLESS_REGION")->capture_default_str();
  logs->add_option("--account", logs_account, "Account of the function")->capture_default_str();
  logs->add_option("--data-dir", logs_dir, "Data dir of the daemon to ask")->envname("SLESS_DATA_DIR")->capture_default_str();
  logs->add_option("--endpoint", logs_endpoint, "Ask this endpoint instead (http://host:port)");

  std::string validate_file, validate_region = "us-east-1";
  std::vector<std::string> validate_overrides;
  auto* validate = app.add_subcommand("validate", "Check a template without starting anything");
  validate->add_option("-t,--template", validate_file, "Template (default ./template.yaml)");
  validate->add_option("--parameter-overrides", validate_overrides, "Template parameters: Key=Value ...");
  validate->add_option("--region", validate_region, "Region (for AWS::Region)")->capture_default_str();

  auto* version = app.add_subcommand("version", "Print the version");

  CLI11_PARSE(app, argc, argv);
  if (up->parsed()) {
    config.template_file = find_template(template_file);
    if (!parse_overrides(overrides, config.parameter_overrides)) {
      std::fprintf(stderr, "sless: --parameter-overrides takes Key=Value words\n");
      return 2;
    }
    return run_up(config, level);
  }
  if (validate->parsed()) {
    std::map<std::string, std::string> parsed;
    if (!parse_overrides(validate_overrides, parsed)) {
      std::fprintf(stderr, "sless: --parameter-overrides takes Key=Value words\n");
      return 2;
    }
    return run_validate(find_template(validate_file), parsed, validate_region);
  }
  if (status->parsed()) return run_status(status_dir, status_endpoint, status_json);
  if (logs->parsed()) {
    return run_logs(logs_function, endpoint_from(logs_dir, logs_endpoint), logs_region, logs_account, logs_follow,
                    logs_since, logs_filter);
  }
  if (version->parsed()) {
    std::printf("sless %s\n", SLESS_VERSION);
    return 0;
  }
  return 0;
}
