#include "identity/qr_code.h"

#include <qrencode.h>

#include <cerrno>
#include <memory>

#include "crypto/encoding.h"
#include "crypto/hash.h"

namespace bulwark::identity {

StatusOr<QrMatrix> EncodeQr(std::string_view text) {
  const std::string copy(text);  // libqrencode reads a NUL-terminated string
  if (copy.find('\0') != std::string::npos) {
    return Status::InvalidArgument("qr_invalid_text", "the text holds a NUL byte");
  }
  errno = 0;
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(copy.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  if (code == nullptr) {
    if (errno == ERANGE) {
      return Status::InvalidArgument("qr_too_long", "the text is too long for a QR code");
    }
    return Status::Internal("the QR code could not be made");
  }
  QrMatrix m;
  m.width = code->width;
  const std::size_t n =
      static_cast<std::size_t>(code->width) * static_cast<std::size_t>(code->width);
  m.dark.resize(n);
  for (std::size_t i = 0; i < n; ++i) m.dark[i] = (code->data[i] & 1) != 0;  // bit 0: dark
  return m;
}

std::string QrSvg(const QrMatrix& m) {
  const int size = m.width + 2 * kQrQuietZone;
  const std::string n = std::to_string(size);
  const std::string px = std::to_string(size * kQrPixelsPerModule);
  std::string out = "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" viewBox=\"0 0 " + n +
                    " " + n + "\" width=\"" + px + "\" height=\"" + px +
                    "\" shape-rendering=\"crispEdges\"><rect width=\"" + n + "\" height=\"" + n +
                    "\" fill=\"#fff\"/><path fill=\"#000\" d=\"";
  // One rectangle per horizontal run of dark modules.
  for (int y = 0; y < m.width; ++y) {
    for (int x = 0; x < m.width;) {
      if (!m.at(x, y)) {
        ++x;
        continue;
      }
      int run = 1;
      while (x + run < m.width && m.at(x + run, y)) ++run;
      // Appended piece by piece: `"M" + std::to_string(...)` trips GCC 12's -Wrestrict at -O3.
      out.append("M").append(std::to_string(x + kQrQuietZone)).append(" ");
      out.append(std::to_string(y + kQrQuietZone)).append("h").append(std::to_string(run));
      out.append("v1h-").append(std::to_string(run)).append("z");
      x += run;
    }
  }
  out += "\"/></svg>";
  return out;
}

StatusOr<std::string> QrCodeSvgDataUri(std::string_view text) {
  BULWARK_ASSIGN_OR_RETURN(QrMatrix m, EncodeQr(text));
  return "data:image/svg+xml;base64," + crypto::Base64Encode(crypto::AsBytes(QrSvg(m)));
}

}  // namespace bulwark::identity
