// Separable antialiased bilinear resampling (triangle filter) of an 8-bit RGB region.
#pragma once
#include <cstdint>
#include <vector>

namespace lmjpeg {

// Taps of one axis: output i reads source samples first[i] .. first[i] + count[i] - 1
// with weights w[i * taps .. i * taps + count[i] - 1], which sum to 1.
struct AxisTaps {
  std::vector<int> first;
  std::vector<int> count;
  std::vector<float> w;
  int taps = 0;
  int lo = 0;  // smallest source index read
  int hi = 0;  // one past the largest source index read
};

// Output i of `out` covers the source interval [start + i * s, start + (i + 1) * s), s = length / out.
// The triangle filter is widened by s when shrinking (antialiasing), as PIL's BILINEAR and libvips'
// linear reduce do; samples outside [0, limit) are left out and the weights renormalised.
AxisTaps axisTaps(double start, double length, int out, int limit);

// Resamples rows y.lo .. y.hi - 1 and columns x.lo .. x.hi - 1 of a region whose first row is
// source row `rowOrigin` and first column is source column `colOrigin` (stride `stride` bytes)
// into `dst` (x.first.size() x y.first.size() x 3 bytes, rounded and clamped). Rows first, then columns.
void resampleRgb(const uint8_t* src, int stride, int colOrigin, int rowOrigin, const AxisTaps& x, const AxisTaps& y, uint8_t* dst);

}  // namespace lmjpeg
