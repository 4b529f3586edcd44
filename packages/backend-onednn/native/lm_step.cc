// The LM two-step update and its gradient, one pass each (see src/lm_step_op.ts for the contract):
//   y = b + k·(o − b) + Δt·f   with (b, o) = (u_n, u_{n−1}) for the k parametrisation (u_{n+1} = (1−k)u_n + k u_{n−1}
//   + Δt f) and (u_{n−1}, u_n) for the one-minus-k one; k is one value or one per channel (last axis).
//   Gradient: df = Δt·dy, db = dy − dy·k, do = dy·k, dk = Σ dy·(o − b) (per channel, or over everything).
// Each operation rounds to float32 in the order of the composed ops (sub, mul, add, add), so y, db and do equal
// the op-by-op results; dk accumulates in double.
#include <omp.h>

#include <vector>

#include "common.h"

namespace lm {
namespace {

/** The four inputs (f or dy, b, o, k), checked: one size for the first three, k of 1 or `channels` values. */
struct Operands {
  const float* first;
  const float* b;
  const float* o;
  const float* k;
  int64_t n;         // elements
  int64_t channels;  // the last axis
  bool scalarK;
};

Operands operands(const Napi::CallbackInfo& info, int64_t channels, const char* what) {
  size_t n = 0, nb = 0, no = 0, nk = 0;
  Operands r{f32(info[0], &n), f32(info[1], &nb), f32(info[2], &no), f32(info[3], &nk), 0, channels, nk == 1};
  if (nb != n || no != n) throw std::runtime_error(std::string(what) + ": f (or dy), u and u_prev must have one size");
  if (channels <= 0 || n % channels != 0) throw std::runtime_error(std::string(what) + ": the channel count must divide the size");
  if (nk != 1 && static_cast<int64_t>(nk) != channels) throw std::runtime_error(std::string(what) + ": k must hold 1 value or one per channel");
  r.n = static_cast<int64_t>(n);
  return r;
}

/** An output array that must hold exactly `n` elements. */
float* output(const Napi::Value& v, int64_t n, const char* what) {
  size_t m = 0;
  float* p = f32(v, &m);
  if (static_cast<int64_t>(m) != n) throw std::runtime_error(std::string(what) + ": an output has the wrong size");
  return p;
}

// lmStep(f, b, o, k, y, channels, dt)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  const Operands a = operands(info, info[5].As<Napi::Number>().Int64Value(), "lmStep");
  const float* __restrict f = a.first;
  const float* __restrict b = a.b;
  const float* __restrict o = a.o;
  const float* __restrict k = a.k;
  float* __restrict y = output(info[4], a.n, "lmStep");
  const float dt = info[6].As<Napi::Number>().FloatValue();
  const int64_t rows = a.n / a.channels, C = a.channels;
  const bool scalar = a.scalarK, unitDt = dt == 1.f;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (a.n >= kParallelMin)
  for (int64_t r = 0; r < rows; r++) {
    const int64_t base = r * C;
#pragma omp simd
    for (int64_t c = 0; c < C; c++) {
      const int64_t i = base + c;
      const float kv = scalar ? k[0] : k[c];
      const float t = o[i] - b[i];
      const float mixed = b[i] + kv * t;
      y[i] = mixed + (unitDt ? f[i] : f[i] * dt);
    }
  }
  return info.Env().Undefined();
}

/**
 * One row of the gradient: db = dy − dy·k, do = dy·k, df = Δt·dy (when wanted), acc += dy·(o − b). Written for
 * the vectoriser: every pointer restrict, no branch in the loop (WithDf is a template parameter).
 */
template <bool WithDf>
inline void gradRow(const float* __restrict dy, const float* __restrict b, const float* __restrict o, const float* __restrict k,
                    bool scalar, float dt, float* __restrict df, float* __restrict db, float* __restrict dO,
                    double* __restrict acc, int64_t C) {
  const float k0 = k[0];
#pragma omp simd
  for (int64_t c = 0; c < C; c++) {
    const float kv = scalar ? k0 : k[c];
    const float d = dy[c];
    const float dm = d * kv;
    db[c] = d + (-dm);
    dO[c] = dm;
    if constexpr (WithDf) df[c] = d * dt;
    acc[c] += static_cast<double>(d * (o[c] - b[c]));
  }
}

// lmStepGrad(dy, b, o, k, df|null, db, do, dk, channels, dt)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  const Operands a = operands(info, info[8].As<Napi::Number>().Int64Value(), "lmStepGrad");
  float* df = info[4].IsNull() || info[4].IsUndefined() ? nullptr : output(info[4], a.n, "lmStepGrad");
  float* db = output(info[5], a.n, "lmStepGrad");
  float* dO = output(info[6], a.n, "lmStepGrad");
  float* dk = output(info[7], a.scalarK ? 1 : a.channels, "lmStepGrad");
  const float dt = info[9].As<Napi::Number>().FloatValue();
  const int64_t rows = a.n / a.channels, C = a.channels;
  const int nthr = a.n >= kParallelMin ? loopThreads() : 1;
  std::vector<double> partial(static_cast<size_t>(nthr) * C, 0.0);
#pragma omp parallel num_threads(nthr)
  {
    double* acc = partial.data() + static_cast<size_t>(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const int64_t i = r * C;
      if (df) gradRow<true>(a.first + i, a.b + i, a.o + i, a.k, a.scalarK, dt, df + i, db + i, dO + i, acc, C);
      else gradRow<false>(a.first + i, a.b + i, a.o + i, a.k, a.scalarK, dt, nullptr, db + i, dO + i, acc, C);
    }
  }
  if (a.scalarK) {
    double s = 0;
    for (double v : partial) s += v;
    dk[0] = static_cast<float>(s);
  } else {
    for (int64_t c = 0; c < C; c++) {
      double s = 0;
      for (int t = 0; t < nthr; t++) s += partial[static_cast<size_t>(t) * C + c];
      dk[c] = static_cast<float>(s);
    }
  }
  return info.Env().Undefined();
}

}  // namespace

void InitLmStep(Napi::Env env, Napi::Object exports) {
  exports.Set("lmStep", Napi::Function::New(env, Guarded<Forward>));
  exports.Set("lmStepGrad", Napi::Function::New(env, Guarded<Backward>));
}

}  // namespace lm
