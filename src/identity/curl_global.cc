#include "identity/curl_global.h"

#include <curl/curl.h>

#include <mutex>

namespace bulwark::identity {

Status InitLibcurl() {
  static std::once_flag once;
  static Status result;
  std::call_once(once, [] {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
      result = Status::Internal("libcurl could not be initialized");
      return;
    }
    const curl_version_info_data* info = curl_version_info(CURLVERSION_NOW);
    if (info == nullptr || (info->features & CURL_VERSION_SSL) == 0) {
      result = Status::Internal("libcurl was built without TLS");
    }
  });
  return result;
}

}  // namespace bulwark::identity
