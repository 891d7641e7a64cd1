// The plugin entry point every function plugin exports (compiled into each plugin by
// sless_add_function): the descriptor lists the handlers registered with SLESS_HANDLER.
#include "sless/function.hpp"

#ifndef SLESS_PLUGIN_NAME
#define SLESS_PLUGIN_NAME "plugin"
#endif

extern "C" SLESS_EXPORT const sless_plugin* sless_plugin_entry(uint32_t /*host_abi_version*/) {
  static sless_plugin plugin;
  const auto& table = sless::detail::handler_table();
  plugin.struct_size = sizeof(sless_plugin);
  plugin.abi_version = SLESS_ABI_VERSION;
  plugin.plugin_name = SLESS_PLUGIN_NAME;
  plugin.sdk_version = sless::kSdkVersion;
  plugin.handler_count = static_cast<uint32_t>(table.size());
  plugin.handlers = table.data();
  return &plugin;
}
