# Fails the build when a source includes a header of a layer it may not use.
#   cmake -DROOT=<source dir> -DSTAMP=<file written on success> -P cmake/check_layers.cmake
# Run by core_layers.cmake as a custom command that every core library depends on, so a wrong
# include stops the build before anything compiles. The layers and what each may include are
# drawn in docs/ARCHITECTURE.md; the table below is the authority.
#
# A quoted include is resolved as the compiler does: next to the including file first, then from
# core/. Includes that resolve outside core/ (system headers, ../bench/...) are not checked.

cmake_minimum_required(VERSION 3.20)

# Layer of a path relative to ROOT, or "" when the file is not checked.
function(layer_of rel out)
  if(rel MATCHES "^core/(status\\.(h|cpp)|stream\\.h|sha256\\.(h|cpp)|format/ggml_types\\.(h|cpp))$")
    set(layer types)
  elseif(rel MATCHES "^core/(format|quant|convert|plan|estimate|quality|pipeline|io|cli)/")
    set(layer ${CMAKE_MATCH_1})
  elseif(rel MATCHES "^core/")
    set(layer unknown)
  elseif(rel MATCHES "^wasm/")
    set(layer wasm)
  else()
    set(layer "")
  endif()
  set(${out} "${layer}" PARENT_SCOPE)
endfunction()

# What each layer may include (itself included). format and quant are siblings over types;
# quality sits over estimate (fit --memory uses its memory model); io and the faces are the only
# places that touch files; the wasm face has no file system.
set(allowed_types    types)
set(allowed_format   types format)
set(allowed_quant    types quant)
set(allowed_convert  types format quant convert)
set(allowed_plan     types format quant plan)
set(allowed_estimate types format quant plan estimate)
set(allowed_quality  types format quant plan estimate quality)
set(allowed_pipeline types format quant plan estimate pipeline)
set(allowed_io       types format io)
set(allowed_cli      types format quant convert plan estimate quality pipeline io cli)
set(allowed_wasm     types format quant convert plan estimate quality pipeline wasm)

file(GLOB_RECURSE sources RELATIVE ${ROOT}
  ${ROOT}/core/*.h ${ROOT}/core/*.cpp ${ROOT}/wasm/*.h ${ROOT}/wasm/*.cpp)
set(violations "")
foreach(rel ${sources})
  layer_of(${rel} from)
  if(from STREQUAL "unknown")
    string(APPEND violations "  ${rel}: in no layer (add its folder to cmake/check_layers.cmake)\n")
    continue()
  endif()
  get_filename_component(dir ${ROOT}/${rel} DIRECTORY)
  file(STRINGS ${ROOT}/${rel} lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
  foreach(line ${lines})
    string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]+)\".*" "\\1" inc "${line}")
    if(EXISTS ${dir}/${inc})
      get_filename_component(target ${dir}/${inc} ABSOLUTE)
    elseif(EXISTS ${ROOT}/core/${inc})
      get_filename_component(target ${ROOT}/core/${inc} ABSOLUTE)
    else()
      continue()
    endif()
    file(RELATIVE_PATH target_rel ${ROOT} ${target})
    layer_of(${target_rel} to)
    if("${to}" STREQUAL "" OR "${to}" STREQUAL "unknown")
      continue()
    endif()
    if(NOT to IN_LIST allowed_${from})
      string(REPLACE ";" " " may "${allowed_${from}}")
      string(APPEND violations
        "  ${rel} (${from}) includes ${target_rel} (${to}); ${from} may include: ${may}\n")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR "Layer check failed (see docs/ARCHITECTURE.md):\n${violations}")
endif()
file(TOUCH ${STAMP})
