/* A plugin that claims an ABI version newer than any sless knows: it must be refused clearly. */
#include "sless/function_abi.h"

static int32_t noop(const sless_invocation* inv, sless_response* out) {
  (void)inv;
  out->is_error = 0;
  return 0;
}

static const sless_handler handlers[] = {{"noop", noop}};

SLESS_EXPORT const sless_plugin* sless_plugin_entry(uint32_t host_abi_version) {
  (void)host_abi_version;
  static const sless_plugin plugin = {sizeof(sless_plugin), 99u, "future", "99.0", 1, handlers};
  return &plugin;
}
