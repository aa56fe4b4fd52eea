#include <boost/beast/http/status.hpp>
#include <charconv>

#include "http/types.h"

namespace bulwark::http {
namespace {

void AppendHeaderText(std::string& out, std::string_view text) {
  for (char c : text) {
    if (c != '\r' && c != '\n') out.push_back(c);
  }
}

void AppendNumber(std::string& out, std::size_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, ec == std::errc() ? end : buf);
}

}  // namespace

void Response::SerializeTo(std::string& out) const {
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  AppendNumber(out, status);
  out.push_back(' ');
  out += bhttp::obsolete_reason(static_cast<bhttp::status>(status));
  out += "\r\nContent-Type: ";
  AppendHeaderText(out, content_type);
  // 1xx, 204 and 304 never carry a body (RFC 9110 §6.4.1): none is written, whatever a handler
  // set, and 204 sends no Content-Length (§8.6), so no proxy can read a body as the next response.
  const bool bodiless = status < 200 || status == 204 || status == 304;
  if (!bodiless) {
    out += "\r\nContent-Length: ";
    AppendNumber(out, body.size());
  }
  out += "\r\nX-Request-ID: ";
  AppendHeaderText(out, request_id);
  out += "\r\n";
  out += fixed_headers;
  for (const auto& [name, value] : headers) {
    AppendHeaderText(out, name);
    out += ": ";
    AppendHeaderText(out, value);
    out += "\r\n";
  }
  if (!keep_alive) {
    out += "Connection: close\r\n";
  } else if (version == 10) {
    out += "Connection: keep-alive\r\n";
  }
  out += "\r\n";
  if (!head && !bodiless) out += body;
}

}  // namespace bulwark::http
