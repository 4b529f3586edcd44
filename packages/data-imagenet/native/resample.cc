#include "resample.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>

namespace lmjpeg {

namespace {

// Rounds and clamps a row to bytes (branch-free, so it vectorises).
void toBytes(const float* v, int n, uint8_t* out) {
  for (int c = 0; c < n; c++) out[c] = static_cast<uint8_t>(static_cast<int>(std::min(std::max(v[c], 0.0f), 255.0f) + 0.5f));
}

}  // namespace

AxisTaps axisTaps(double start, double length, int out, int limit) {
  AxisTaps t;
  if (length == out && start == std::floor(start) && start + out <= limit) {  // 1:1 copy
    t.taps = 1;
    t.first.resize(out);
    t.count.assign(out, 1);
    t.w.assign(out, 1.0f);
    for (int i = 0; i < out; i++) t.first[i] = static_cast<int>(start) + i;
    t.lo = static_cast<int>(start);
    t.hi = t.lo + out;
    return t;
  }
  const double scale = length / out;
  const double filterScale = std::max(scale, 1.0);
  const double support = filterScale;  // the triangle's half-width is 1 output pixel
  t.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  t.first.resize(out);
  t.count.resize(out);
  t.w.assign(static_cast<size_t>(out) * t.taps, 0.0f);
  t.lo = limit;
  t.hi = 0;
  std::vector<double> tmp(t.taps);
  for (int i = 0; i < out; i++) {
    const double centre = start + (i + 0.5) * scale;
    int a = std::max(0, static_cast<int>(std::floor(centre - support + 0.5)));
    int b = std::min(limit, static_cast<int>(std::floor(centre + support + 0.5)));
    if (b - a > t.taps) b = a + t.taps;
    double sum = 0;
    for (int j = a; j < b; j++) {
      const double d = std::fabs((j + 0.5 - centre) / filterScale);
      tmp[j - a] = d < 1 ? 1 - d : 0;
      sum += tmp[j - a];
    }
    if (sum <= 0) {  // degenerate box narrower than a sample: take the nearest one
      a = std::min(limit - 1, std::max(0, static_cast<int>(std::floor(centre))));
      b = a + 1;
      tmp[0] = 1;
      sum = 1;
    }
    t.first[i] = a;
    t.count[i] = b - a;
    for (int j = 0; j < b - a; j++) t.w[static_cast<size_t>(i) * t.taps + j] = static_cast<float>(tmp[j] / sum);
    t.lo = std::min(t.lo, a);
    t.hi = std::max(t.hi, b);
  }
  return t;
}

void resampleRgb(const uint8_t* src, int stride, int colOrigin, int rowOrigin, const AxisTaps& x, const AxisTaps& y, uint8_t* dst) {
  const int outW = static_cast<int>(x.first.size());
  const int outH = static_cast<int>(y.first.size());
  if (x.taps == 1 && y.taps == 1) {  // 1:1 on both axes: copy the rows
    for (int j = 0; j < outH; j++) std::memcpy(dst + static_cast<size_t>(j) * outW * 3, src + static_cast<size_t>(y.first[j] - rowOrigin) * stride + static_cast<size_t>(x.lo - colOrigin) * 3, static_cast<size_t>(outW) * 3);
    return;
  }
  const int span = (x.hi - x.lo) * 3;  // the columns the horizontal pass reads
  const uint8_t* base = src + static_cast<size_t>(x.lo - colOrigin) * 3;
  // vertical pass first, output rows only: contiguous runs of one weight each, which vectorise
  std::unique_ptr<float[]> column(new float[span]);
  std::unique_ptr<float[]> row(new float[static_cast<size_t>(outW) * 3]);
  for (int j = 0; j < outH; j++) {
    const float* w = y.w.data() + static_cast<size_t>(j) * y.taps;
    float* acc = column.get();
    const uint8_t* line = base + static_cast<size_t>(y.first[j] - rowOrigin) * stride;
    const float w0 = w[0];
    for (int c = 0; c < span; c++) acc[c] = w0 * line[c];
    for (int k = 1, n = y.count[j]; k < n; k++) {
      const uint8_t* l = line + static_cast<size_t>(k) * stride;
      const float wk = w[k];
      for (int c = 0; c < span; c++) acc[c] += wk * l[c];
    }
    // horizontal pass of this row
    float* o = row.get();
    for (int i = 0; i < outW; i++) {
      const float* wi = x.w.data() + static_cast<size_t>(i) * x.taps;
      const float* p = acc + static_cast<size_t>(x.first[i] - x.lo) * 3;
      float r = 0, g = 0, b = 0;
      for (int k = 0, n = x.count[i]; k < n; k++) {
        r += wi[k] * p[3 * k];
        g += wi[k] * p[3 * k + 1];
        b += wi[k] * p[3 * k + 2];
      }
      o[3 * i] = r;
      o[3 * i + 1] = g;
      o[3 * i + 2] = b;
    }
    toBytes(o, outW * 3, dst + static_cast<size_t>(j) * outW * 3);
  }
}

}  // namespace lmjpeg
