# Native build: the core libraries with every x86 kernel compiled in (each ISA file gets its own
# target flags, and the dispatcher picks one at run time), the CLI, tests and benchmarks.
set(NATIVE_ISA_SOURCES)
if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
  set_source_files_properties(${SSE4_SOURCES} PROPERTIES COMPILE_OPTIONS "-msse4.1")
  # No -mfma: fused multiply-add would change the reference's rounding.
  set_source_files_properties(${AVX2_SOURCES} PROPERTIES COMPILE_OPTIONS "-mavx2;-msse4.1")
  list(APPEND NATIVE_ISA_SOURCES ${SSE4_SOURCES} ${AVX2_SOURCES})
  set(GGUF_SQUASH_X86 ON)
endif()

option(GGUF_SQUASH_FUZZ "Build only the libFuzzer targets (needs clang)" OFF)
if(GGUF_SQUASH_FUZZ)
  include(${CMAKE_SOURCE_DIR}/cmake/fuzz.cmake)
  return()
endif()

set(NATIVE_QUANT_DEFINITIONS)
if(GGUF_SQUASH_X86)
  set(NATIVE_QUANT_DEFINITIONS GGUF_SQUASH_HAVE_X86_KERNELS=1)
endif()
gguf_squash_core_layers("" QUANT_SOURCES ${NATIVE_ISA_SOURCES}
  QUANT_DEFINITIONS ${NATIVE_QUANT_DEFINITIONS})

find_package(CURL QUIET)
add_executable(gguf-squash ${CLI_SOURCES})
target_link_libraries(gguf-squash PRIVATE gguf_squash_core gguf_squash_io)
if(CURL_FOUND)
  target_link_libraries(gguf-squash PRIVATE CURL::libcurl)
  target_compile_definitions(gguf-squash PRIVATE GGUF_SQUASH_HAVE_CURL=1)
endif()

enable_testing()
find_package(GTest REQUIRED)
add_executable(gguf_squash_tests ${TEST_SOURCES})
target_link_libraries(gguf_squash_tests PRIVATE gguf_squash_core gguf_squash_io GTest::gtest
  GTest::gtest_main)
find_package(nlohmann_json 3 QUIET)
if(nlohmann_json_FOUND)
  target_link_libraries(gguf_squash_tests PRIVATE nlohmann_json::nlohmann_json)
endif()
target_compile_definitions(gguf_squash_tests PRIVATE
  GGUF_SQUASH_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures"
  GGUF_SQUASH_CLI="$<TARGET_FILE:gguf-squash>")
include(GoogleTest)
gtest_discover_tests(gguf_squash_tests DISCOVERY_TIMEOUT 60 PROPERTIES TIMEOUT 900)

file(GLOB BENCH_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/bench/*.cpp)
find_package(benchmark QUIET)
if(benchmark_FOUND AND BENCH_SOURCES)
  add_executable(gguf_squash_bench ${BENCH_SOURCES})
  target_link_libraries(gguf_squash_bench PRIVATE gguf_squash_core gguf_squash_io benchmark::benchmark)
endif()

# Synthetic llama-style models for benchmarks and large-file tests (scripts/make-bench-model).
add_executable(make-bench-model ${CMAKE_SOURCE_DIR}/tools/make_bench_model.cpp)
target_link_libraries(make-bench-model PRIVATE gguf_squash_core)
