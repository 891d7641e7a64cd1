# sless_add_function(NAME SOURCES src... [LIBRARIES lib...])
#
# Builds a function plugin: a shared object exporting sless_plugin_entry and the handlers its
# sources register with SLESS_HANDLER. Point a function's CodeUri (template) or
# Code.S3Key with S3Bucket "hot-reload" (Lambda API) at the resulting lib<NAME>.so.
# Usable from this repository and, after `cmake --install`, from any project with
# find_package(sless) (which includes this file).
include_guard(GLOBAL)
find_package(nlohmann_json 3 REQUIRED)

set(SLESS_FUNCTION_SDK_DIR "${CMAKE_CURRENT_LIST_DIR}/.." CACHE INTERNAL "")

function(sless_add_function name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LIBRARIES" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "sless_add_function(${name}): SOURCES is required")
  endif()
  set(entry "${SLESS_FUNCTION_SDK_DIR}/sdk/plugin_entry.cpp")
  if(EXISTS "${SLESS_FUNCTION_SDK_DIR}/include/sless/function.hpp")  # this repository
    set(include_dir "${SLESS_FUNCTION_SDK_DIR}/include")
  else()  # installed: <prefix>/share/sless/{sdk,cmake} and <prefix>/include/sless
    get_filename_component(include_dir "${SLESS_FUNCTION_SDK_DIR}/../../include" ABSOLUTE)
  endif()
  add_library(${name} MODULE ${ARG_SOURCES} ${entry})
  set_target_properties(${name} PROPERTIES PREFIX "lib" CXX_STANDARD 20 CXX_STANDARD_REQUIRED ON
    CXX_VISIBILITY_PRESET hidden VISIBILITY_INLINES_HIDDEN ON POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${name} PRIVATE ${include_dir})
  target_compile_definitions(${name} PRIVATE SLESS_PLUGIN_NAME="${name}")
  target_link_libraries(${name} PRIVATE nlohmann_json::nlohmann_json ${ARG_LIBRARIES})
  # A plugin must not leave a symbol for the daemon to provide. Sanitizer builds are the exception:
  # their runtime lives in the executable that loads the plugin.
  if(NOT SLESS_FUZZ)
    target_link_options(${name} PRIVATE -Wl,--no-undefined)
  endif()
endfunction()
