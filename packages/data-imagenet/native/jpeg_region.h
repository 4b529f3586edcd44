// Decodes the part of a JPEG a crop-and-resize needs, straight to its output size.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace lmjpeg {

struct RegionRequest {
  // Source box in pixels of the full-size image (fractional), resized to outWidth x outHeight.
  double x = 0, y = 0, width = 0, height = 0;
  int outWidth = 0, outHeight = 0;
  // Let the IDCT scale by 1/2, 1/4 or 1/8 while the scaled box still covers the output.
  bool shrinkOnLoad = true;
};

struct RegionResult {
  // false: this decoder leaves the image to the general one (not a JPEG it handles, or libjpeg
  // complained); `reason` says why.
  bool ok = false;
  std::string reason;
  std::vector<uint8_t> rgb;  // outHeight x outWidth x 3
};

RegionResult decodeJpegRegion(const uint8_t* data, size_t size, const RegionRequest& req);

// Version of the libjpeg-turbo this was built against.
const char* libjpegTurboVersion();

}  // namespace lmjpeg
