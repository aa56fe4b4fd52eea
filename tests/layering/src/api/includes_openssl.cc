// A deliberate wrong include (tests/layering/check.cmake): OpenSSL belongs to src/crypto, so the
// include check must refuse this file as a file of src/api.
#include <openssl/evp.h>

int LayeringProbeApiOpenssl() { return EVP_MAX_MD_SIZE; }
