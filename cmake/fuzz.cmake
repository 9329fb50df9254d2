# libFuzzer targets (clang only): configure with
#   CXX=clang++ cmake -S . -B build/fuzz -DGGUF_SQUASH_FUZZ=ON
# scripts/fuzz.sh does this and runs every target. Every tests/fuzz/fuzz_*.cpp is a target
# (fuzz_gguf_reader, fuzz_quantize_pipeline, fuzz_kernels_differential).
set(FUZZ_FLAGS -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -gline-tables-only -O2)
set(FUZZ_QUANT_DEFINITIONS)
if(GGUF_SQUASH_X86)
  set(FUZZ_QUANT_DEFINITIONS GGUF_SQUASH_HAVE_X86_KERNELS=1)
endif()
gguf_squash_core_layers(_fuzz QUANT_SOURCES ${NATIVE_ISA_SOURCES}
  QUANT_DEFINITIONS ${FUZZ_QUANT_DEFINITIONS}
  PUBLIC_OPTIONS -fsanitize=fuzzer-no-link,address,undefined -gline-tables-only -O2)
file(GLOB FUZZ_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/tests/fuzz/fuzz_*.cpp)
foreach(src ${FUZZ_SOURCES})
  get_filename_component(name ${src} NAME_WE)
  add_executable(${name} ${src})
  target_compile_options(${name} PRIVATE ${FUZZ_FLAGS})
  target_link_options(${name} PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(${name} PRIVATE gguf_squash_core_fuzz gguf_squash_io_fuzz)
endforeach()
