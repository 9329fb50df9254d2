# libFuzzer targets (clang only): configure with
#   CXX=clang++ cmake -S . -B build/fuzz -DGGUF_SQUASH_FUZZ=ON
# scripts/fuzz.sh does this and runs every target. Every tests/fuzz/fuzz_*.cpp is a target
# (fuzz_gguf_reader, fuzz_quantize_pipeline, fuzz_kernels_differential).
set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -g -O2)
add_library(gguf_squash_core_fuzz STATIC ${CORE_SOURCES} ${NATIVE_ISA_SOURCES})
target_include_directories(gguf_squash_core_fuzz PUBLIC ${CMAKE_SOURCE_DIR}/core)
target_compile_options(gguf_squash_core_fuzz PUBLIC -fsanitize=fuzzer-no-link,address,undefined -g -O2)
if(GGUF_SQUASH_X86)
  target_compile_definitions(gguf_squash_core_fuzz PUBLIC GGUF_SQUASH_HAVE_X86_KERNELS=1)
endif()
find_package(Threads REQUIRED)
target_link_libraries(gguf_squash_core_fuzz PUBLIC Threads::Threads)
file(GLOB FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cpp)
foreach(src ${FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE gguf_squash_core_fuzz)
endforeach()
