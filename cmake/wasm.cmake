# WebAssembly build (emcmake cmake): the core twice, once with -msimd128 and the wasm128 kernels,
# once as a baseline without SIMD, because a browser rejects a module holding opcodes it lacks.
# JS chooses between the two with WebAssembly.validate (wasm/gguf_squash.mjs).
file(GLOB BINDING_SOURCES CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/wasm/*.cpp)

set(GS_WASM_LINK
  -sMODULARIZE=1 -sEXPORT_ES6=1 -sEXPORT_NAME=createGgufSquash
  -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sINITIAL_MEMORY=32MB
  -sENVIRONMENT=web,worker,node -sFILESYSTEM=0
  -sEXPORTED_RUNTIME_METHODS=['UTF8ToString','stringToUTF8','lengthBytesUTF8','HEAPU8','HEAPF32']
  -sEXPORTED_FUNCTIONS=['_malloc','_free'])

# The GoogleTest suite, compiled to wasm once (as objects) and linked against both core
# variants, run under node with the real filesystem (NODERAWFS).
find_path(GTEST_SRC_DIR src/gtest-all.cc PATHS /usr/src/googletest/googletest /usr/src/gtest NO_CMAKE_FIND_ROOT_PATH)
if(GTEST_SRC_DIR)
  add_library(gtest_wasm STATIC ${GTEST_SRC_DIR}/src/gtest-all.cc ${GTEST_SRC_DIR}/src/gtest_main.cc)
  target_include_directories(gtest_wasm PUBLIC ${GTEST_SRC_DIR}/include ${GTEST_SRC_DIR})
  target_compile_options(gtest_wasm PRIVATE -w)
  set(WASM_TEST_SOURCES ${TEST_SOURCES})
  # Tests that spawn the native CLI or need threads only run natively.
  list(FILTER WASM_TEST_SOURCES EXCLUDE REGEX "(cli|native|fault|thread)_.*test\\.cpp$")
  add_library(gguf_squash_test_objects OBJECT ${WASM_TEST_SOURCES})
  target_include_directories(gguf_squash_test_objects PRIVATE ${CMAKE_SOURCE_DIR}/core)
  target_link_libraries(gguf_squash_test_objects PRIVATE gtest_wasm)
  # nlohmann_json is header-only; expose just its folder (not all of /usr/include, whose glibc
  # headers would shadow emscripten's).
  find_path(NLOHMANN_INCLUDE nlohmann/json.hpp PATHS /usr/include NO_CMAKE_FIND_ROOT_PATH)
  if(NLOHMANN_INCLUDE)
    set(NLOHMANN_ONLY ${CMAKE_BINARY_DIR}/nlohmann_only)
    file(MAKE_DIRECTORY ${NLOHMANN_ONLY})
    file(CREATE_LINK ${NLOHMANN_INCLUDE}/nlohmann ${NLOHMANN_ONLY}/nlohmann SYMBOLIC)
    target_include_directories(gguf_squash_test_objects PRIVATE ${NLOHMANN_ONLY})
  endif()
  target_compile_definitions(gguf_squash_test_objects PRIVATE
    GGUF_SQUASH_FIXTURES="${CMAKE_SOURCE_DIR}/tests/fixtures" GGUF_SQUASH_WASM_TEST=1)
endif()

foreach(variant simd base)
  set(lib gguf_squash_core_${variant})
  if(variant STREQUAL "simd")
    # Every layer gets -msimd128 (PRIVATE: the tests and bindings compile once for both
    # variants); only the quant layer gets the wasm128 kernels.
    gguf_squash_core_layers(_${variant} QUANT_SOURCES ${WASM128_SOURCES}
      QUANT_DEFINITIONS GGUF_SQUASH_HAVE_WASM128_KERNELS=1 PRIVATE_OPTIONS -msimd128)
  else()
    gguf_squash_core_layers(_${variant})
  endif()

  if(BINDING_SOURCES)
    add_executable(gguf_squash_${variant} ${BINDING_SOURCES})
    target_link_libraries(gguf_squash_${variant} PRIVATE ${lib})
    target_link_options(gguf_squash_${variant} PRIVATE ${GS_WASM_LINK})
    set_target_properties(gguf_squash_${variant} PROPERTIES SUFFIX ".mjs")
  endif()

  if(TARGET gguf_squash_test_objects)
    add_executable(gguf_squash_tests_${variant} $<TARGET_OBJECTS:gguf_squash_test_objects>)
    target_link_libraries(gguf_squash_tests_${variant} PRIVATE ${lib} gguf_squash_io_${variant} gtest_wasm)
    target_link_options(gguf_squash_tests_${variant} PRIVATE
      -sNODERAWFS=1 -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB -sEXIT_RUNTIME=1
      --pre-js ${CMAKE_SOURCE_DIR}/tests/wasm_test_pre.js)
    # .cjs: package.json says "type": "module", and this runner is CommonJS.
    set_target_properties(gguf_squash_tests_${variant} PROPERTIES SUFFIX ".cjs")
  endif()
endforeach()
