# The layers of src/ and what each may include: the one declaration both the build (one library
# and one include tree per layer, CMakeLists.txt) and the include check (check_layer_includes.cmake)
# read. The architecture is in docs/design.md ("Layers"). Included by CMakeLists.txt and by the
# check script run with `cmake -P`, so it only sets variables.

# Lowest first. A folder of src/ that is not listed here fails the configure step.
set(BULWARK_LAYERS core crypto store keyring audit secrets receipts policy identity http stages api app cli)

# The layers each layer uses directly; it may include these and what they include (their closure).
# Domain layers (secrets, receipts, policy, identity) use each other in this order only.
set(BULWARK_LAYER_DEPS_core "")
set(BULWARK_LAYER_DEPS_crypto core)
set(BULWARK_LAYER_DEPS_store core crypto)
set(BULWARK_LAYER_DEPS_keyring core crypto store)
set(BULWARK_LAYER_DEPS_audit core crypto store keyring)
set(BULWARK_LAYER_DEPS_secrets core crypto store keyring)
set(BULWARK_LAYER_DEPS_receipts core crypto store keyring audit)
set(BULWARK_LAYER_DEPS_policy core crypto store secrets receipts)
set(BULWARK_LAYER_DEPS_identity core crypto store keyring policy)
# Transport only: router, pipeline, server, metrics.
set(BULWARK_LAYER_DEPS_http core crypto)
# Pipeline stage adapters: authenticate, tenant guard, authorize, rate limit, audit record.
set(BULWARK_LAYER_DEPS_stages core crypto store keyring audit identity policy http)
set(BULWARK_LAYER_DEPS_api core crypto store keyring audit secrets receipts policy identity http stages)
set(BULWARK_LAYER_DEPS_app core crypto store keyring audit secrets receipts policy identity http stages api)
set(BULWARK_LAYER_DEPS_cli core audit receipts app)

# Includes across the line that today's tree still has, each by file and the layer it reaches
# ("<file>:<layer>"). Each one widens its layer's include tree; the check allows it only in the
# file named.
#
# TEMPORARY, until the stage adapters live in src/stages/ (issue #24, part C): the merger
# deletes these entries once that is merged, and the build then holds http/ to core and crypto.
set(BULWARK_LAYER_EXCEPTIONS
  src/identity/authenticator.h:http        # the authenticator stage (to stages/)
  src/identity/authenticator.cc:http
  src/policy/access_stages.h:http          # tenant guard and authorizer stages (to stages/)
  src/policy/access_stages.cc:http
  src/http/types.h:audit                   # RequestContext carries audit types
  src/http/ledger_audit_stage.h:audit      # the audit stage (to stages/)
  src/http/ledger_audit_stage.cc:audit
  src/http/shared_rate_buckets.h:store     # the shared rate buckets run SQL (to stages/)
  src/http/shared_rate_buckets.cc:store
)
# Not part C's: core's configuration holds its secrets in crypto::SecretBytes (which wipes with
# OpenSSL), so core/config.h reaches up to crypto. It stays until SecretBytes or the
# configuration moves.
list(APPEND BULWARK_LAYER_EXCEPTIONS
  src/core/config.h:crypto
)

# Third-party headers that belong to one layer (or a few). Their headers live in /usr/include
# beside everything else, so no include tree can hide them: check_layer_includes.cmake reads
# every #include of a layer's files. Boost.JSON, toml++ and the standard library are general.
set(BULWARK_THIRD_PARTY openssl sqlite libpq beast asio curl qrencode cli11)
set(BULWARK_TP_openssl_NAME "OpenSSL")
set(BULWARK_TP_openssl_REGEX "^openssl/")
set(BULWARK_TP_openssl_OWNERS crypto)
set(BULWARK_TP_sqlite_NAME "SQLite")
set(BULWARK_TP_sqlite_REGEX "^sqlite3(ext)?\\.h$")
set(BULWARK_TP_sqlite_OWNERS store)
set(BULWARK_TP_libpq_NAME "libpq")
set(BULWARK_TP_libpq_REGEX "^(libpq-fe\\.h|libpq/|postgresql/|pg_config)")
set(BULWARK_TP_libpq_OWNERS store)
set(BULWARK_TP_beast_NAME "Boost.Beast")
set(BULWARK_TP_beast_REGEX "^boost/beast[./]")
set(BULWARK_TP_beast_OWNERS http)
# Asio: the transport, the TLS contexts crypto/ builds for it, the SIEM syslog transport, and
# where the server is started (app/: signals).
set(BULWARK_TP_asio_NAME "Boost.Asio")
set(BULWARK_TP_asio_REGEX "^boost/asio[./]")
set(BULWARK_TP_asio_OWNERS http crypto audit app)
# libcurl: the mail transport.
set(BULWARK_TP_curl_NAME "libcurl")
set(BULWARK_TP_curl_REGEX "^curl/")
set(BULWARK_TP_curl_OWNERS identity)
set(BULWARK_TP_qrencode_NAME "libqrencode")
set(BULWARK_TP_qrencode_REGEX "^qrencode\\.h$")
set(BULWARK_TP_qrencode_OWNERS identity)
set(BULWARK_TP_cli11_NAME "CLI11")
set(BULWARK_TP_cli11_REGEX "^CLI/")
set(BULWARK_TP_cli11_OWNERS cli)

# The layers `layer` may include: itself and the closure of its dependencies. With
# WITH_EXCEPTIONS, the closure also follows the exception edges (what the include tree needs, as
# a header reached through an exception includes what its own layer may).
function(bulwark_layer_closure layer out)
  set(options WITH_EXCEPTIONS)
  cmake_parse_arguments(PARSE_ARGV 2 arg "${options}" "" "")
  set(result ${layer})
  set(todo ${layer})
  while(todo)
    list(POP_FRONT todo current)
    set(next ${BULWARK_LAYER_DEPS_${current}})
    if(arg_WITH_EXCEPTIONS)
      foreach(entry IN LISTS BULWARK_LAYER_EXCEPTIONS)
        string(REGEX MATCH "^src/([^/]+)/.*:([a-z_]+)$" _ "${entry}")
        if(CMAKE_MATCH_1 STREQUAL current)
          list(APPEND next ${CMAKE_MATCH_2})
        endif()
      endforeach()
    endif()
    foreach(dep IN LISTS next)
      if(NOT dep IN_LIST result)
        list(APPEND result ${dep})
        list(APPEND todo ${dep})
      endif()
    endforeach()
  endwhile()
  set(${out} ${result} PARENT_SCOPE)
endfunction()
