// Element-wise kernels as tight C++ loops (OpenMP-parallel above a size threshold): broadcasting binary
// operations on float32 and unary activations. oneDNN's binary primitive only broadcasts its second
// operand and costs a descriptor per shape, so plain loops are simpler and as fast for these sizes.
#include <algorithm>
#include <cmath>

#include "common.h"

namespace lm {
namespace {

enum BinOp { ADD = 0, SUB, MUL, DIV, MAX, MIN, SQDIFF };

template <int OP>
inline float apply(float a, float b) {
  if constexpr (OP == ADD) return a + b;
  else if constexpr (OP == SUB) return a - b;
  else if constexpr (OP == MUL) return a * b;
  else if constexpr (OP == DIV) return a / b;
  else if constexpr (OP == MAX) return (std::isnan(a) || std::isnan(b)) ? NAN : (a > b ? a : b);
  else if constexpr (OP == MIN) return (std::isnan(a) || std::isnan(b)) ? NAN : (a < b ? a : b);
  else { float d = a - b; return d * d; }
}

/** Collapsed broadcast geometry: out dims and the element strides of a and b (0 where broadcast). */
struct Geometry {
  std::vector<int64_t> shape, sa, sb;
};

Geometry geometry(std::vector<int64_t> as, std::vector<int64_t> bs, const std::vector<int64_t>& os) {
  const size_t r = os.size();
  while (as.size() < r) as.insert(as.begin(), 1);
  while (bs.size() < r) bs.insert(bs.begin(), 1);
  std::vector<int64_t> sa(r), sb(r);
  int64_t ca = 1, cb = 1;
  for (size_t i = r; i-- > 0;) {
    sa[i] = as[i] == 1 && os[i] != 1 ? 0 : ca;
    sb[i] = bs[i] == 1 && os[i] != 1 ? 0 : cb;
    ca *= as[i];
    cb *= bs[i];
  }
  Geometry g;
  for (size_t i = 0; i < r; i++) {
    if (os[i] == 1) continue;  // size-1 dims carry nothing
    if (!g.shape.empty()) {
      size_t j = g.shape.size() - 1;
      // dims i-1 (collapsed j) and i merge when each operand walks them contiguously or broadcasts both.
      bool okA = g.sa[j] == sa[i] * os[i];
      bool okB = g.sb[j] == sb[i] * os[i];
      if (okA && okB) {
        g.shape[j] *= os[i];
        g.sa[j] = sa[i];
        g.sb[j] = sb[i];
        continue;
      }
    }
    g.shape.push_back(os[i]);
    g.sa.push_back(sa[i]);
    g.sb.push_back(sb[i]);
  }
  if (g.shape.empty()) {
    g.shape.push_back(1);
    g.sa.push_back(1);
    g.sb.push_back(1);
  }
  return g;
}

template <int OP>
void binaryLoop(const float* a, const float* b, float* out, const Geometry& g) {
  const size_t r = g.shape.size();
  const int64_t inner = g.shape[r - 1], ia = g.sa[r - 1], ib = g.sb[r - 1];
  int64_t outer = 1;
  for (size_t i = 0; i + 1 < r; i++) outer *= g.shape[i];
  const int64_t total = outer * inner;
  // Same-shape operands collapse to one row (outer = 1): the rows are cut into pieces so every thread gets work.
  const int64_t chunk = outer >= 64 ? inner : std::max<int64_t>(4096, (inner + 63) / 64);
  const int64_t pieces = (inner + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (total >= kParallelMin)
  for (int64_t w = 0; w < outer * pieces; w++) {
    const int64_t o = w / pieces, k0 = (w % pieces) * chunk, k1 = std::min(inner, k0 + chunk);
    int64_t offA = 0, offB = 0, rem = o;
    for (size_t i = r - 1; i-- > 0;) {
      int64_t idx = rem % g.shape[i];
      rem /= g.shape[i];
      offA += idx * g.sa[i];
      offB += idx * g.sb[i];
    }
    const float* pa = a + offA;
    const float* pb = b + offB;
    float* po = out + o * inner;
    if (ia == 1 && ib == 1) {
      for (int64_t k = k0; k < k1; k++) po[k] = apply<OP>(pa[k], pb[k]);
    } else if (ia == 1 && ib == 0) {
      const float vb = pb[0];
      for (int64_t k = k0; k < k1; k++) po[k] = apply<OP>(pa[k], vb);
    } else if (ia == 0 && ib == 1) {
      const float va = pa[0];
      for (int64_t k = k0; k < k1; k++) po[k] = apply<OP>(va, pb[k]);
    } else {
      for (int64_t k = k0; k < k1; k++) po[k] = apply<OP>(pa[k * ia], pb[k * ib]);
    }
  }
}

// binary(op, a, aShape, b, bShape, out, outShape)
Napi::Value Binary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  const float* a = f32(info[1]);
  auto as = ints(info[2]);
  const float* b = f32(info[3]);
  auto bs = ints(info[4]);
  float* out = f32(info[5]);
  auto os = ints(info[6]);
  Geometry g = geometry(as, bs, os);
  switch (op) {
    case ADD: binaryLoop<ADD>(a, b, out, g); break;
    case SUB: binaryLoop<SUB>(a, b, out, g); break;
    case MUL: binaryLoop<MUL>(a, b, out, g); break;
    case DIV: binaryLoop<DIV>(a, b, out, g); break;
    case MAX: binaryLoop<MAX>(a, b, out, g); break;
    case MIN: binaryLoop<MIN>(a, b, out, g); break;
    case SQDIFF: binaryLoop<SQDIFF>(a, b, out, g); break;
    default: throw std::runtime_error("binary: unknown op");
  }
  return info.Env().Undefined();
}

enum UnOp { RELU = 0, STEP, NEG, SQUARE, SQRT, RSQRT, EXP, LOG, ABS, SIGMOID, RELU6, RECIPROCAL, TANH };

template <int OP>
inline float un(float x, float alpha) {
  if constexpr (OP == RELU) return x < 0.f ? 0.f : x;  // NaN passes through, as tfjs
  else if constexpr (OP == STEP) return x > 0.f ? 1.f : (x == x ? alpha : x);  // NaN stays NaN; select form vectorizes
  else if constexpr (OP == NEG) return -x;
  else if constexpr (OP == SQUARE) return x * x;
  else if constexpr (OP == SQRT) return std::sqrt(x);
  else if constexpr (OP == RSQRT) return 1.f / std::sqrt(x);
  else if constexpr (OP == EXP) return std::exp(x);
  else if constexpr (OP == LOG) return std::log(x);
  else if constexpr (OP == ABS) return std::fabs(x);
  else if constexpr (OP == SIGMOID) return 1.f / (1.f + std::exp(-x));
  else if constexpr (OP == RELU6) return x < 0.f ? 0.f : (x > 6.f ? 6.f : x);
  else if constexpr (OP == RECIPROCAL) return 1.f / x;
  else return std::tanh(x);
}

template <int OP>
void unaryLoop(const float* x, float* y, int64_t n, float alpha) {
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) y[i] = un<OP>(x[i], alpha);
}

// unary(op, x, y, alpha)
Napi::Value Unary(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  size_t n = 0, m = 0;
  const float* x = f32(info[1], &n);
  float* y = f32(info[2], &m);
  float alpha = info[3].As<Napi::Number>().FloatValue();
  if (m < n) throw std::runtime_error("unary: output too small");
  const int64_t len = static_cast<int64_t>(n);
  switch (op) {
    case RELU: unaryLoop<RELU>(x, y, len, alpha); break;
    case STEP: unaryLoop<STEP>(x, y, len, alpha); break;
    case NEG: unaryLoop<NEG>(x, y, len, alpha); break;
    case SQUARE: unaryLoop<SQUARE>(x, y, len, alpha); break;
    case SQRT: unaryLoop<SQRT>(x, y, len, alpha); break;
    case RSQRT: unaryLoop<RSQRT>(x, y, len, alpha); break;
    case EXP: unaryLoop<EXP>(x, y, len, alpha); break;
    case LOG: unaryLoop<LOG>(x, y, len, alpha); break;
    case ABS: unaryLoop<ABS>(x, y, len, alpha); break;
    case SIGMOID: unaryLoop<SIGMOID>(x, y, len, alpha); break;
    case RELU6: unaryLoop<RELU6>(x, y, len, alpha); break;
    case RECIPROCAL: unaryLoop<RECIPROCAL>(x, y, len, alpha); break;
    case TANH: unaryLoop<TANH>(x, y, len, alpha); break;
    default: throw std::runtime_error("unary: unknown op");
  }
  return info.Env().Undefined();
}

// reluGrad(dy, x, dx): dx = x > 0 ? dy : 0 (used by the fused relu-backward path).
// dy is loaded unconditionally so the select vectorizes: `x > 0 ? dy[i] : 0` compiles to a branch on the sign of
// x, mispredicted on every other element of a ReLU input (about 10x slower than the forward ReLU).
Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  size_t n = 0, nx = 0, nd = 0;
  const float* __restrict dy = f32(info[0], &n);
  const float* __restrict x = f32(info[1], &nx);
  float* __restrict dx = f32(info[2], &nd);
  if (nx < n || nd < n) throw std::runtime_error("reluGrad: x and dx must hold as many elements as dy");
  const int64_t len = static_cast<int64_t>(n);
#pragma omp parallel for simd schedule(static) num_threads(loopThreads()) if (len >= kParallelMin)
  for (int64_t i = 0; i < len; i++) {
    const float g = dy[i];
    dx[i] = x[i] > 0.f ? g : 0.f;
  }
  return info.Env().Undefined();
}

}  // namespace

void InitElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("binary", Napi::Function::New(env, Guarded<Binary>));
  exports.Set("unary", Napi::Function::New(env, Guarded<Unary>));
  exports.Set("reluGrad", Napi::Function::New(env, Guarded<ReluGrad>));
}

}  // namespace lm
