#pragma once
// QR codes for TOTP enrollment (identity/mfa.h), encoded by libqrencode (Debian libqrencode4)
// and drawn as SVG, so an authenticator app can scan the otpauth:// URI off the screen.
//
// The symbol is the smallest version that holds the text in byte mode at error correction
// level M; the SVG draws it with the 4-module quiet zone ISO/IEC 18004 asks for, one user unit
// per module (viewBox "0 0 N N", N = width + 8), dark modules as one black path over a white
// square, scaled to kQrPixelsPerModule pixels a module.
//
//   BULWARK_ASSIGN_OR_RETURN(std::string uri, identity::QrCodeSvgDataUri(otpauth_uri));
//   // "data:image/svg+xml;base64,PHN2ZyB4bWxucz0..."
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace bulwark::identity {

inline constexpr int kQrQuietZone = 4;
inline constexpr int kQrPixelsPerModule = 4;

// A QR symbol: width × width modules, row-major, true for dark.
struct QrMatrix {
  int width = 0;
  std::vector<bool> dark;
  bool at(int x, int y) const { return dark[static_cast<std::size_t>(y * width + x)]; }
};

// The symbol for `text`. kInvalidArgument ("qr_too_long") when no QR version holds it;
// kInternal if libqrencode fails otherwise (out of memory).
StatusOr<QrMatrix> EncodeQr(std::string_view text);

// The SVG document drawing `m` as described above.
std::string QrSvg(const QrMatrix& m);

// EncodeQr, QrSvg, then the data: URI of the SVG (base64).
StatusOr<std::string> QrCodeSvgDataUri(std::string_view text);

}  // namespace bulwark::identity
