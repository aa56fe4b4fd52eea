# ctest layering_enforced: an include across the line fails the build, by both mechanisms, and
# the probes fail for that reason only (the control builds with the same flags).
#   - include trees: a file compiled as src/secrets cannot find "http/types.h", one compiled as
#     src/identity cannot find "http/types.h" (the compiler's own error);
#   - the include check: a file of src/api that includes <openssl/evp.h> stops the build with
#     "src/api/includes_openssl.cc includes <openssl/evp.h>: OpenSSL belongs to src/crypto".
# The probes are targets of the build (CMakeLists.txt, layering_probe_*), built with a layer's
# include tree and flags, outside `all`.
#   cmake -DBUILD_DIR=<build dir> -P tests/layering/check.cmake
cmake_minimum_required(VERSION 3.25)

function(build expect_ok pattern)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_DIR} --target ${ARGN}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  set(out "${out}${err}")
  if(expect_ok AND NOT rc EQUAL 0)
    message(FATAL_ERROR "the control probe (${ARGN}) failed to build; the other probes prove nothing:\n${out}")
  endif()
  if(NOT expect_ok AND rc EQUAL 0)
    message(FATAL_ERROR "${ARGN} built: the wrong include was not refused")
  endif()
  if(pattern AND NOT out MATCHES "${pattern}")
    message(FATAL_ERROR "${ARGN}: the output does not say `${pattern}`:\n${out}")
  endif()
  message(STATUS "${ARGN}: as expected")
endfunction()

build(TRUE "" layering_probe_allowed_api layering_probe_allowed_secrets)
build(FALSE "http/types\\.h: No such file or directory" layering_probe_tree_secrets)
build(FALSE "http/types\\.h: No such file or directory" layering_probe_tree_identity)
build(FALSE "src/api/includes_openssl\\.cc includes <openssl/evp\\.h>: OpenSSL belongs to src/crypto"
      layering_probe_thirdparty_api)
