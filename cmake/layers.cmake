# The layers of src/ and what each may include: the one declaration both the build (one library
# and one include tree per layer, CMakeLists.txt) and the include check (check_layer_includes.cmake)
# read. The architecture is in docs/design.md ("Layers"). Included by CMakeLists.txt and by the
# check script run with `cmake -P`, so it only sets variables.

# Lowest first. A folder of src/ that is not listed here fails the configure step.
set(BULWARK_LAYERS core crypto config store keyring audit receipts policy secrets identity sso scim http stages api app cli)

# The layers each layer uses directly; it may include these and what they include (their closure).
# Domain layers (secrets, receipts, policy, identity) use each other in this order only.
set(BULWARK_LAYER_DEPS_core "")
set(BULWARK_LAYER_DEPS_crypto core)
# The configuration holds its secrets in crypto::SecretBytes, so it sits above crypto.
set(BULWARK_LAYER_DEPS_config core crypto)
set(BULWARK_LAYER_DEPS_store core crypto)
set(BULWARK_LAYER_DEPS_keyring core crypto store)
set(BULWARK_LAYER_DEPS_audit core crypto config store keyring)
set(BULWARK_LAYER_DEPS_receipts core crypto store keyring audit)
# Path policies own the secret-path grammar (policy/secret_path.h); the vault and the secrets
# service ask policy/ what a caller may do at a path.
set(BULWARK_LAYER_DEPS_policy core crypto store receipts)
set(BULWARK_LAYER_DEPS_secrets core crypto store keyring audit policy)
set(BULWARK_LAYER_DEPS_identity core crypto store keyring policy)
# Single sign-on (OIDC relying party: connections, domains, the flow, back-channel logout).
set(BULWARK_LAYER_DEPS_sso core crypto config store keyring audit receipts policy identity)
# SCIM 2.0 provisioning; group changes re-map roles through sso/'s group-to-role mapping.
set(BULWARK_LAYER_DEPS_scim core crypto store keyring audit policy identity sso)
# Transport only: router, pipeline, server, metrics.
set(BULWARK_LAYER_DEPS_http core crypto)
# Pipeline stage adapters: authenticate, tenant guard, authorize, rate limit, audit record.
set(BULWARK_LAYER_DEPS_stages core crypto store keyring audit identity policy sso scim http)
set(BULWARK_LAYER_DEPS_api core crypto store keyring audit secrets receipts policy identity sso scim http stages)
set(BULWARK_LAYER_DEPS_app core crypto config store keyring audit secrets receipts policy identity sso scim http stages api)
set(BULWARK_LAYER_DEPS_cli core config audit receipts app)

# Includes across the line, each by file and the layer it reaches ("<file>:<layer>"): each one
# widens its layer's include tree and the check allows it only in the file named. None today;
# an entry here is a debt to name in docs/design.md.
set(BULWARK_LAYER_EXCEPTIONS "")

# Third-party headers that belong to one layer (or a few). Their headers live in /usr/include
# beside everything else, so no include tree can hide them: check_layer_includes.cmake reads
# every #include of a layer's files. Boost.JSON, toml++ and the standard library are general.
set(BULWARK_THIRD_PARTY openssl sqlite libpq beast asio curl qrencode cli11 resolv)
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
# libcurl: the mail transport, and the OpenID Provider client (discovery, JWKS, token endpoint).
set(BULWARK_TP_curl_NAME "libcurl")
set(BULWARK_TP_curl_REGEX "^curl/")
set(BULWARK_TP_curl_OWNERS identity sso)
set(BULWARK_TP_qrencode_NAME "libqrencode")
set(BULWARK_TP_qrencode_REGEX "^qrencode\\.h$")
set(BULWARK_TP_qrencode_OWNERS identity)
# glibc's DNS resolver (libresolv): the TXT lookup that verifies an SSO domain.
set(BULWARK_TP_resolv_NAME "libresolv")
set(BULWARK_TP_resolv_REGEX "^(resolv\\.h|arpa/nameser(_compat)?\\.h)$")
set(BULWARK_TP_resolv_OWNERS sso)
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
