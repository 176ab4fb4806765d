# Helpers that give every polscan target the same language level and warnings.

# Unity builds: each library and test target compiles its sources in batches of 8 per
# translation unit, so the heavy headers (OpenCV, GoogleTest, Boost.Asio, CLI11, nlohmann-json)
# are parsed once per batch instead of once per file. This roughly halves CI's compile time; turn
# it off (-DPOLSCAN_UNITY_BUILD=OFF) to find which file a compile error belongs to.
option(POLSCAN_UNITY_BUILD "Compile library and test sources in unity batches" ON)
function(polscan_unity_build name)
  if(POLSCAN_UNITY_BUILD)
    set_target_properties(${name} PROPERTIES UNITY_BUILD ON UNITY_BUILD_BATCH_SIZE 8)
    # A GoogleTest fixture in an anonymous namespace is fine in its own file; included into a
    # unity batch, GCC sees the TEST classes as defined in a header and warns.
    target_compile_options(${name} PRIVATE $<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
  endif()
endfunction()

# polscan_library(name SOURCES ... [DEPS ...]) : a static library of host code (C++20).
function(polscan_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_compile_options(${name} PRIVATE ${POLSCAN_WARNINGS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/host ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${A_DEPS})
  polscan_unity_build(${name})
endfunction()

# polscan_test(name SOURCES ... [DEPS ...] [LABELS ...]) : a GoogleTest executable registered
# with ctest. Without LABELS it is a "unit" test; tests labelled "unit" are built by the target
# polscan_unit_tests and run again in the sanitizer build.
if(NOT TARGET polscan_unit_tests)
  add_custom_target(polscan_unit_tests)
endif()
function(polscan_test name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT A_LABELS)
    set(A_LABELS unit)
  endif()
  if("unit" IN_LIST A_LABELS)
    add_dependencies(polscan_unit_tests ${name})
  endif()
  add_executable(${name} ${A_SOURCES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_options(${name} PRIVATE ${POLSCAN_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/host ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS} GTest::gmock GTest::gtest_main)
  polscan_unity_build(${name})
  gtest_discover_tests(${name} WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}
    PROPERTIES LABELS "${A_LABELS}" DISCOVERY_TIMEOUT 60)
endfunction()

# polscan_bench(name SOURCES ... [DEPS ...]) : a Google Benchmark executable under bench/.
function(polscan_bench name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${A_SOURCES})
  target_compile_features(${name} PRIVATE cxx_std_20)
  target_compile_options(${name} PRIVATE ${POLSCAN_WARNINGS})
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/host ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PRIVATE ${A_DEPS} benchmark::benchmark)
endfunction()
