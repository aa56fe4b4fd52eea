# Fails when a file of a layer includes a header across the line (cmake/layers.cmake): a project
# header of a layer it may not use, or a third-party header another layer owns. The build runs it
# for every layer before compiling the layer, and again when one of its files changes; the
# include trees (CMakeLists.txt) hold the project headers too, this script also holds the
# third-party ones, which live in /usr/include where no include tree can hide them.
#
#   cmake -DLAYER=api -DFILES_FROM=<file listing the files> -DBASE=<dir the names are relative to>
#         -DSTAMP=<file written on success> -P cmake/check_layer_includes.cmake
#
# Message: "src/api/x.cc includes <openssl/evp.h>: OpenSSL belongs to src/crypto".
cmake_minimum_required(VERSION 3.25)
include(${CMAKE_CURRENT_LIST_DIR}/layers.cmake)

foreach(var LAYER FILES_FROM BASE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "check_layer_includes.cmake: -D${var}= is required")
  endif()
endforeach()
if(NOT LAYER IN_LIST BULWARK_LAYERS)
  message(FATAL_ERROR "check_layer_includes.cmake: ${LAYER} is not a layer of cmake/layers.cmake")
endif()

bulwark_layer_closure(${LAYER} allowed)
file(STRINGS "${FILES_FROM}" files)

set(problems "")
foreach(file IN LISTS files)
  cmake_path(RELATIVE_PATH file BASE_DIRECTORY "${BASE}" OUTPUT_VARIABLE name)
  file(STRINGS "${file}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[<\"]")
  foreach(line IN LISTS lines)
    if(NOT line MATCHES "^[ \t]*#[ \t]*include[ \t]*([<\"])([^>\"]+)[>\"]")
      continue()
    endif()
    set(open "${CMAKE_MATCH_1}")
    set(header "${CMAKE_MATCH_2}")
    if(open STREQUAL "<")
      set(shown "<${header}>")
    else()
      set(shown "\"${header}\"")
    endif()
    # A path out of the include tree ("../http/types.h") would go around it.
    if(header MATCHES "(^|/)\\.\\.(/|$)")
      list(APPEND problems "${name} includes ${shown}: name a header by its layer (\"core/status.h\"), not by a relative path")
      continue()
    endif()
    # A project header: "<layer>/...".
    if(open STREQUAL "\"" AND header MATCHES "^([a-z_]+)/" AND CMAKE_MATCH_1 IN_LIST BULWARK_LAYERS)
      set(target "${CMAKE_MATCH_1}")
      if(NOT target IN_LIST allowed AND NOT "${name}:${target}" IN_LIST BULWARK_LAYER_EXCEPTIONS)
        list(REMOVE_ITEM allowed ${LAYER})
        string(REPLACE ";" ", " may "${allowed}")
        list(APPEND problems
             "${name} includes ${shown}: src/${LAYER} may include only src/${LAYER} and the layers below it that it uses (${may}), not src/${target}")
        list(APPEND allowed ${LAYER})
      endif()
      continue()
    endif()
    # A third-party header owned by some layers.
    foreach(tp IN LISTS BULWARK_THIRD_PARTY)
      if(header MATCHES "${BULWARK_TP_${tp}_REGEX}" AND NOT LAYER IN_LIST BULWARK_TP_${tp}_OWNERS)
        set(owners "")
        foreach(owner IN LISTS BULWARK_TP_${tp}_OWNERS)
          list(APPEND owners "src/${owner}")
        endforeach()
        string(REPLACE ";" ", " owners "${owners}")
        list(APPEND problems "${name} includes ${shown}: ${BULWARK_TP_${tp}_NAME} belongs to ${owners}")
      endif()
    endforeach()
  endforeach()
endforeach()

if(problems)
  string(REPLACE ";" "\n  " text "${problems}")
  message(FATAL_ERROR "layering: an include crosses the line (cmake/layers.cmake, docs/design.md):\n  ${text}")
endif()
if(DEFINED STAMP)
  file(TOUCH "${STAMP}")
endif()
