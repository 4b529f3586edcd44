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

struct Geometry {
  int64_t n;  // elements
  int64_t c;  // channels (last axis)
  int64_t kn; // 1 or c
};

Geometry geometry(size_t n, size_t nk, int64_t channels, const char* what) {
  if (channels <= 0 || n % channels != 0) throw std::runtime_error(std::string(what) + ": the channel count must divide the size");
  if (nk != 1 && static_cast<int64_t>(nk) != channels) throw std::runtime_error(std::string(what) + ": k must hold 1 value or one per channel");
  return {static_cast<int64_t>(n), channels, static_cast<int64_t>(nk)};
}

// lmStep(f, b, o, k, y, channels, dt)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  size_t n = 0, nb = 0, no = 0, nk = 0, ny = 0;
  const float* __restrict f = f32(info[0], &n);
  const float* __restrict b = f32(info[1], &nb);
  const float* __restrict o = f32(info[2], &no);
  const float* __restrict k = f32(info[3], &nk);
  float* __restrict y = f32(info[4], &ny);
  const int64_t channels = info[5].As<Napi::Number>().Int64Value();
  const float dt = info[6].As<Napi::Number>().FloatValue();
  if (nb != n || no != n || ny != n) throw std::runtime_error("lmStep: f, u, u_prev and y must have one size");
  const Geometry g = geometry(n, nk, channels, "lmStep");
  const int64_t rows = g.n / g.c, C = g.c;
  const bool scalar = g.kn == 1, unitDt = dt == 1.f;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (g.n >= kParallelMin)
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

// lmStepGrad(dy, b, o, k, df|null, db, do, dk, channels, dt)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  size_t n = 0, nb = 0, no = 0, nk = 0, ndk = 0;
  const float* __restrict dy = f32(info[0], &n);
  const float* __restrict b = f32(info[1], &nb);
  const float* __restrict o = f32(info[2], &no);
  const float* __restrict k = f32(info[3], &nk);
  float* __restrict df = f32OrNull(info[4]);
  size_t n1 = 0, n2 = 0;
  float* __restrict db = f32(info[5], &n1);
  float* __restrict dO = f32(info[6], &n2);
  float* dk = f32(info[7], &ndk);
  const int64_t channels = info[8].As<Napi::Number>().Int64Value();
  const float dt = info[9].As<Napi::Number>().FloatValue();
  if (nb != n || no != n || n1 != n || n2 != n) throw std::runtime_error("lmStepGrad: dy, u, u_prev and the gradients must have one size");
  if (ndk != nk) throw std::runtime_error("lmStepGrad: dk must have the size of k");
  const Geometry g = geometry(n, nk, channels, "lmStepGrad");
  const int64_t rows = g.n / g.c, C = g.c;
  const bool scalar = g.kn == 1;
  const int nthr = g.n >= kParallelMin ? loopThreads() : 1;
  std::vector<double> partial(static_cast<size_t>(nthr) * C, 0.0);
#pragma omp parallel num_threads(nthr)
  {
    double* acc = partial.data() + static_cast<size_t>(omp_get_thread_num()) * C;
#pragma omp for schedule(static)
    for (int64_t r = 0; r < rows; r++) {
      const int64_t base = r * C;
      for (int64_t c = 0; c < C; c++) {
        const int64_t i = base + c;
        const float kv = scalar ? k[0] : k[c];
        const float d = dy[i];
        const float dm = d * kv;
        db[i] = d + (-dm);
        dO[i] = dm;
        if (df) df[i] = d * dt;
        acc[c] += static_cast<double>(d * (o[i] - b[i]));
      }
    }
  }
  if (scalar) {
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
  exports.Set("lmStep", Napi::Function::New(env, Forward));
  exports.Set("lmStepGrad", Napi::Function::New(env, Backward));
}

}  // namespace lm
