// Config: the daemon's settings, filled from flags and SLESS_* environment variables by the
// `sless` command. Read-only once the daemon starts.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "core/log.h"

namespace sless {

struct Config {
  std::string host = "127.0.0.1";
  uint16_t port = 4566;               // 0 picks a free port
  std::string data_dir = ".sless";
  bool in_memory = false;
  std::string region = "us-east-1";  // when a request names none
  log::Level log_level = log::Level::kInfo;
  unsigned threads = 0;               // io threads; 0 = one per core
  std::string worker_binary;          // the sless executable that runs function workers
                                      // (`sless __zygote`); empty: functions cannot run

  // The stack: a SAM/CloudFormation template deployed at start (empty: none), its parameter
  // values, and its name (empty: the template's folder name).
  std::string template_file;
  std::map<std::string, std::string> parameter_overrides;
  std::string stack_name;
  // The port of the stack's first API; each further API takes the next port. 0 picks free ports.
  int api_port = 3000;

  // Asynchronous Lambda invocations retry after this delay, then twice it (AWS: 1 and 2 minutes).
  int64_t lambda_retry_delay_ms = 1000;

  // Bodies read whole into memory are capped here; streamed uploads (S3) have their own limits.
  size_t max_buffered_body = 20u * 1024 * 1024;
  size_t max_header_bytes = 64u * 1024;
  std::chrono::seconds idle_timeout{120};    // keep-alive connection with no request
  std::chrono::seconds read_timeout{60};     // a request's header and body must arrive in this
  std::chrono::seconds drain_timeout{10};    // shutdown waits this long for in-flight requests
};

}  // namespace sless
