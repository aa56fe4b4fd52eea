// The TOTP enrollment's QR code: the symbol libqrencode makes, drawn module for module.
#include "identity/qr_code.h"

#include <gtest/gtest.h>
#include <qrencode.h>

#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "crypto/encoding.h"

namespace bulwark::identity {
namespace {

constexpr std::string_view kUri =
    "otpauth://totp/Bulwark%20%28acme%29:ada@acme.test?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    "&issuer=Bulwark%20%28acme%29&algorithm=SHA1&digits=6&period=30";

// libqrencode's own symbol for `text` (byte mode, level M), as rows of dark modules.
std::vector<bool> Reference(std::string_view text, int& width) {
  const std::string s(text);
  std::unique_ptr<QRcode, decltype(&QRcode_free)> code(
      QRcode_encodeString8bit(s.c_str(), 0, QR_ECLEVEL_M), &QRcode_free);
  EXPECT_TRUE(code != nullptr);
  if (code == nullptr) return {};
  width = code->width;
  std::vector<bool> out;
  for (int i = 0; i < width * width; ++i) out.push_back((code->data[i] & 1) != 0);
  return out;
}

// The modules the SVG paints: each "Mx yhNv1h-Nz" run, back in symbol coordinates.
std::vector<bool> Painted(const std::string& svg, int width) {
  std::vector<bool> out(static_cast<std::size_t>(width * width), false);
  const std::regex run(R"(M(\d+) (\d+)h(\d+)v1h-(\d+)z)");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), run); it != std::sregex_iterator();
       ++it) {
    const int x = std::stoi((*it)[1]) - kQrQuietZone;
    const int y = std::stoi((*it)[2]) - kQrQuietZone;
    const int n = std::stoi((*it)[3]);
    EXPECT_EQ(n, std::stoi((*it)[4]));
    for (int i = 0; i < n; ++i) {
      EXPECT_TRUE(x + i >= 0 && x + i < width && y >= 0 && y < width);
      std::vector<bool>::reference cell = out[static_cast<std::size_t>(y * width + x + i)];
      EXPECT_FALSE(cell) << "module painted twice";
      cell = true;
    }
  }
  return out;
}

TEST(QrCodeTest, MatrixIsLibqrencodes) {
  StatusOr<QrMatrix> m = EncodeQr(kUri);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  int width = 0;
  const std::vector<bool> want = Reference(kUri, width);
  EXPECT_EQ(m->width, width);
  EXPECT_EQ(m->dark, want);
  // A version 1..40 symbol: 21 + 4 (version - 1) modules a side; this URI needs more than 1.
  EXPECT_EQ((m->width - 17) % 4, 0);
  EXPECT_GT(m->width, 21);
  // The three finder patterns: a dark 7x7 ring with a dark 3x3 centre, at three corners.
  for (auto [ox, oy] : {std::pair{0, 0}, std::pair{m->width - 7, 0}, std::pair{0, m->width - 7}}) {
    for (int y = 0; y < 7; ++y) {
      for (int x = 0; x < 7; ++x) {
        const bool ring = x == 0 || y == 0 || x == 6 || y == 6;
        const bool centre = x >= 2 && x <= 4 && y >= 2 && y <= 4;
        EXPECT_EQ(m->at(ox + x, oy + y), ring || centre) << ox + x << "," << oy + y;
      }
    }
  }
}

TEST(QrCodeTest, SvgPaintsExactlyTheDarkModulesWithAQuietZone) {
  StatusOr<QrMatrix> m = EncodeQr(kUri);
  ASSERT_TRUE(m.ok());
  const std::string svg = QrSvg(*m);
  const int size = m->width + 2 * kQrQuietZone;
  const std::string n = std::to_string(size);
  EXPECT_TRUE(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
  EXPECT_NE(svg.find("viewBox=\"0 0 " + n + " " + n + "\""), std::string::npos);
  EXPECT_NE(svg.find("width=\"" + std::to_string(size * kQrPixelsPerModule) + "\""),
            std::string::npos);
  EXPECT_TRUE(svg.ends_with("</svg>"));
  EXPECT_EQ(Painted(svg, m->width), m->dark);
}

TEST(QrCodeTest, DataUriIsTheSvgInBase64) {
  StatusOr<std::string> uri = QrCodeSvgDataUri(kUri);
  ASSERT_TRUE(uri.ok());
  constexpr std::string_view kPrefix = "data:image/svg+xml;base64,";
  ASSERT_TRUE(uri->starts_with(kPrefix));
  StatusOr<std::vector<std::uint8_t>> svg = crypto::Base64Decode(uri->substr(kPrefix.size()));
  ASSERT_TRUE(svg.ok());
  EXPECT_EQ(std::string(svg->begin(), svg->end()), QrSvg(*EncodeQr(kUri)));
}

TEST(QrCodeTest, TextTooLongOrWithNulIsRefused) {
  EXPECT_EQ(EncodeQr(std::string(4000, 'a')).status().reason(), "qr_too_long");
  EXPECT_EQ(EncodeQr(std::string("a\0b", 3)).status().reason(), "qr_invalid_text");
}

}  // namespace
}  // namespace bulwark::identity
