# The core as one static library per layer, each linked only to the layers below it
# (docs/ARCHITECTURE.md):
#
#   types ─┬─ format ─┬─ plan ── estimate ─┬─ pipeline   (gguf_squash_core = all of these)
#          └─ quant ──┘                    └─ quality    (fit --memory: estimate's memory model)
#   format + quant ── convert                             (safetensors checkpoints -> GGUF plan)
#   types ── format ── io                                 (file access: only faces link it)
#
# Linking is half the fence: every library shares the include root core/, so cmake/check_layers.cmake
# runs over the sources first and fails the build on an include that goes up or sideways.
#
# gguf_squash_core_layers(<suffix> [QUANT_SOURCES ...] [QUANT_DEFINITIONS ...]
#                         [PRIVATE_OPTIONS ...] [PUBLIC_OPTIONS ...])
# creates gguf_squash_{types,format,quant,convert,plan,estimate,quality,pipeline,io}<suffix> and the interface
# library gguf_squash_core<suffix> (everything but io). QUANT_SOURCES are the per-ISA kernels;
# the options go on every layer (the wasm SIMD variant, the fuzz sanitizers).

set(GS_CORE ${CMAKE_SOURCE_DIR}/core)
set(GS_TYPES_SOURCES ${GS_CORE}/status.cpp ${GS_CORE}/sha256.cpp ${GS_CORE}/format/ggml_types.cpp)
file(GLOB GS_FORMAT_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/format/*.cpp)
list(REMOVE_ITEM GS_FORMAT_SOURCES ${GS_CORE}/format/ggml_types.cpp)
file(GLOB GS_QUANT_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/quant/*.cpp ${GS_CORE}/quant/ref/*.cpp)
file(GLOB GS_PLAN_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/plan/*.cpp)
file(GLOB GS_ESTIMATE_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/estimate/*.cpp)
file(GLOB GS_QUALITY_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/quality/*.cpp)
file(GLOB GS_PIPELINE_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/pipeline/*.cpp)
file(GLOB GS_IO_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/io/*.cpp)
file(GLOB GS_CONVERT_SOURCES CONFIGURE_DEPENDS ${GS_CORE}/convert/*.cpp)

# The include check, once per build tree; it reruns when any checked file changes.
file(GLOB_RECURSE GS_LAYER_CHECKED CONFIGURE_DEPENDS
  ${GS_CORE}/*.h ${GS_CORE}/*.cpp ${CMAKE_SOURCE_DIR}/wasm/*.h ${CMAKE_SOURCE_DIR}/wasm/*.cpp)
set(GS_LAYER_STAMP ${CMAKE_BINARY_DIR}/check_layers.stamp)
add_custom_command(
  OUTPUT ${GS_LAYER_STAMP}
  COMMAND ${CMAKE_COMMAND} -DROOT=${CMAKE_SOURCE_DIR} -DSTAMP=${GS_LAYER_STAMP}
          -P ${CMAKE_SOURCE_DIR}/cmake/check_layers.cmake
  DEPENDS ${GS_LAYER_CHECKED} ${CMAKE_SOURCE_DIR}/cmake/check_layers.cmake
  COMMENT "Checking that core/ and wasm/ include only downward (cmake/check_layers.cmake)"
  VERBATIM)
add_custom_target(gguf_squash_check_layers DEPENDS ${GS_LAYER_STAMP})

function(gguf_squash_core_layers suffix)
  cmake_parse_arguments(ARG "" ""
    "QUANT_SOURCES;QUANT_DEFINITIONS;PRIVATE_OPTIONS;PUBLIC_OPTIONS" ${ARGN})
  # layer: sources, then the layers it links (downward only).
  set(layers types format quant convert plan estimate quality pipeline io)
  set(types_sources ${GS_TYPES_SOURCES})
  set(types_deps)
  set(format_sources ${GS_FORMAT_SOURCES})
  set(format_deps types)
  set(quant_sources ${GS_QUANT_SOURCES} ${ARG_QUANT_SOURCES})
  set(quant_deps types)
  set(convert_sources ${GS_CONVERT_SOURCES})
  set(convert_deps format quant)
  set(plan_sources ${GS_PLAN_SOURCES})
  set(plan_deps format quant)
  set(estimate_sources ${GS_ESTIMATE_SOURCES})
  set(estimate_deps plan)
  set(quality_sources ${GS_QUALITY_SOURCES})
  set(quality_deps estimate)
  set(pipeline_sources ${GS_PIPELINE_SOURCES})
  set(pipeline_deps plan)
  set(io_sources ${GS_IO_SOURCES})
  set(io_deps format)
  foreach(layer ${layers})
    set(lib gguf_squash_${layer}${suffix})
    add_library(${lib} STATIC ${${layer}_sources})
    target_include_directories(${lib} PUBLIC ${GS_CORE})
    target_compile_options(${lib} PRIVATE ${ARG_PRIVATE_OPTIONS} PUBLIC ${ARG_PUBLIC_OPTIONS})
    add_dependencies(${lib} gguf_squash_check_layers)
    foreach(dep ${${layer}_deps})
      target_link_libraries(${lib} PUBLIC gguf_squash_${dep}${suffix})
    endforeach()
  endforeach()
  target_compile_definitions(gguf_squash_quant${suffix} PRIVATE ${ARG_QUANT_DEFINITIONS})
  if(NOT EMSCRIPTEN)
    # The dispatcher's once-flag and the pipeline's read-ahead thread.
    find_package(Threads REQUIRED)
    target_link_libraries(gguf_squash_types${suffix} PUBLIC Threads::Threads)
  endif()
  add_library(gguf_squash_core${suffix} INTERFACE)
  target_link_libraries(gguf_squash_core${suffix} INTERFACE
    gguf_squash_pipeline${suffix} gguf_squash_estimate${suffix} gguf_squash_quality${suffix}
    gguf_squash_convert${suffix})
endfunction()
