# find_package(sless) for projects outside this repository, after `cmake --install`:
#   find_package(sless REQUIRED)
#   sless_add_function(my_function SOURCES handler.cpp)
include("${CMAKE_CURRENT_LIST_DIR}/../../../share/sless/cmake/SlessFunction.cmake")
