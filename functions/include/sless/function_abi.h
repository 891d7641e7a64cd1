/* The sless function ABI: the only contract between the sless host and a function plugin.
 *
 * Pure C, so that a plugin built with another compiler or standard library still loads. Every
 * struct begins with struct_size and abi_version and only ever grows at its end: a reader
 * touches a field only when struct_size says it is there. Buffers are {ptr, len} and are never
 * freed across the line: whoever allocates releases. No exceptions cross it.
 *
 * A plugin exports one symbol, sless_plugin_entry, returning a static descriptor that lists its
 * handlers. The host calls a handler once per invocation, on one thread at a time per process.
 *
 * Ownership in the names:
 *   - `borrowed` buffers belong to the caller and are valid only during the call;
 *   - the plugin's response buffers stay valid until the host calls response->release.
 */
#ifndef SLESS_FUNCTION_ABI_H
#define SLESS_FUNCTION_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version this header describes. The host loads plugins built for versions
 * SLESS_ABI_MIN_VERSION..SLESS_ABI_VERSION and refuses others with a message naming both. */
#define SLESS_ABI_VERSION 1u
#define SLESS_ABI_MIN_VERSION 1u

#define SLESS_PLUGIN_ENTRY_SYMBOL "sless_plugin_entry"

#if defined(__GNUC__)
#define SLESS_EXPORT __attribute__((visibility("default")))
#else
#define SLESS_EXPORT
#endif

typedef struct sless_buffer {
  const char* ptr;
  size_t len;
} sless_buffer;

/* Results of host calls. */
typedef enum sless_status {
  SLESS_OK = 0,
  SLESS_SERVICE_ERROR = 1,  /* the service answered an AWS error: code and message are set */
  SLESS_HOST_ERROR = 2,     /* the host could not make the call */
} sless_status;

/* What the host lends a running invocation. Valid during the handler call only. */
typedef struct sless_host_api {
  uint32_t struct_size;
  uint32_t abi_version;
  void* host_ctx; /* pass back to every function below */

  /* Appends one line to the invocation's log (CloudWatch Logs group /aws/lambda/<name>). */
  void (*log)(void* host_ctx, sless_buffer borrowed_line);

  /* Milliseconds left before the function's timeout. */
  int64_t (*remaining_time_ms)(void* host_ctx);

  /* Calls an AWS API of the emulator in-process, with the same JSON a client would send (the
   * params of the operation, e.g. {"TableName": ..., "Item": ...} for dynamodb PutItem) and the
   * same JSON back. `service` is the model name: "dynamodb", "s3", "sqs", "sns", "kinesis",
   * "lambda", ... On SLESS_OK *response holds the result JSON; on SLESS_SERVICE_ERROR
   * *error_code and *error_message describe the AWS error (and *response holds its JSON fields).
   * Out buffers belong to the host and stay valid until the next call_service or the end of the
   * invocation. */
  sless_status (*call_service)(void* host_ctx, sless_buffer borrowed_service, sless_buffer borrowed_operation,
                               sless_buffer borrowed_request_json, sless_buffer* response, sless_buffer* error_code,
                               sless_buffer* error_message);
} sless_host_api;

/* One invocation, as Lambda's context describes it. Valid during the handler call only. */
typedef struct sless_invocation {
  uint32_t struct_size;
  uint32_t abi_version;
  sless_buffer payload;          /* the event (JSON for every trigger sless has) */
  sless_buffer request_id;       /* aws request id */
  sless_buffer function_arn;     /* invoked ARN (with qualifier when one was used) */
  sless_buffer function_name;
  sless_buffer function_version; /* "$LATEST" or a published version */
  sless_buffer log_group_name;
  sless_buffer log_stream_name;
  sless_buffer client_context;   /* base64 JSON from the Invoke call, or empty */
  sless_buffer cognito_identity; /* JSON, or empty */
  sless_buffer xray_trace_id;
  int64_t deadline_ms;           /* epoch milliseconds */
  int32_t memory_limit_mb;
  const sless_host_api* host;
} sless_invocation;

/* A handler's answer. The plugin fills it; the host copies what it needs, then calls release. */
typedef struct sless_response {
  uint32_t struct_size;
  uint32_t abi_version;
  int32_t is_error;           /* 0: payload is the result; 1: a function error */
  sless_buffer payload;       /* result JSON, or the error's errorMessage */
  sless_buffer error_type;    /* when is_error: errorType ("InvalidInput", "std::runtime_error", ...) */
  sless_buffer content_type;  /* optional, defaults to application/json */
  void (*release)(void* release_ctx);
  void* release_ctx;
} sless_response;

/* Returns 0 after filling *out (even for a function error); non-zero means the handler could
 * not produce a response at all (the host reports Runtime.InvalidResponse). */
typedef int32_t (*sless_handler_fn)(const sless_invocation* invocation, sless_response* out);

typedef struct sless_handler {
  const char* name; /* the Handler value of the function configuration */
  sless_handler_fn fn;
} sless_handler;

typedef struct sless_plugin {
  uint32_t struct_size;
  uint32_t abi_version;        /* SLESS_ABI_VERSION the plugin was built with */
  const char* plugin_name;
  const char* sdk_version;     /* informational */
  uint32_t handler_count;
  const sless_handler* handlers;
} sless_plugin;

/* The single exported entry point. `host_abi_version` lets a plugin adapt to an older host. */
typedef const sless_plugin* (*sless_plugin_entry_fn)(uint32_t host_abi_version);
SLESS_EXPORT const sless_plugin* sless_plugin_entry(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif /* SLESS_FUNCTION_ABI_H */
