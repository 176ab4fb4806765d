# Helpers that give every polscan target the same language level and warnings.

# polscan_library(name SOURCES ... [DEPS ...]) : a static library of host code (C++20).
function(polscan_library name)
  cmake_parse_arguments(A "" "" "SOURCES;DEPS" ${ARGN})
  add_library(${name} STATIC ${A_SOURCES})
  target_compile_features(${name} PUBLIC cxx_std_20)
  target_compile_options(${name} PRIVATE ${POLSCAN_WARNINGS})
  target_include_directories(${name} PUBLIC ${PROJECT_SOURCE_DIR}/host ${PROJECT_SOURCE_DIR})
  target_link_libraries(${name} PUBLIC ${A_DEPS})
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
