// Batch normalization in NHWC, data viewed as [M = N·H·W, C] (a 2-D [N, C] input is {N, C, 1, 1}):
// inference with given statistics on oneDNN, and the training forward/backward with batch statistics as
// two-pass OpenMP loops with double accumulators (see Train for why not oneDNN's).
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

const normalization_flags kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

struct FwdEntry {
  batch_normalization_forward::primitive_desc pd;
  batch_normalization_forward prim;
};
Cache<FwdEntry> inferCache;

memory::desc dataDesc(const std::vector<int64_t>& p) { return {{p[0], p[3], p[1], p[2]}, dt::f32, tag::nhwc}; }
memory::desc chanDesc(int64_t c) { return {{c}, dt::f32, tag::a}; }

std::vector<int64_t> shapeOf(const Napi::Value& v, float eps) {
  auto p = ints(v);
  if (p.size() != 4) throw std::runtime_error("batchnorm: expected [N, H, W, C]");
  p.push_back(static_cast<int64_t>(static_cast<double>(eps) * 1e12));
  return p;
}

/**
 * Per-channel sums over the rows of an [M, C] array, split over threads with double accumulators.
 * `f(row pointer(s), c)` returns the two values accumulated into a and b.
 */
template <typename F>
void channelSums(int64_t M, int64_t C, std::vector<double>& a, std::vector<double>& b, F f) {
  const int nthr = (M * C >= (1 << 16)) ? loopThreads() : 1;
  std::vector<double> pa(static_cast<size_t>(nthr) * C, 0.0), pb(static_cast<size_t>(nthr) * C, 0.0);
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = M * t / nthr, r1 = M * (t + 1) / nthr;
    double* ta = pa.data() + static_cast<size_t>(t) * C;
    double* tb = pb.data() + static_cast<size_t>(t) * C;
    for (int64_t r = r0; r < r1; r++) f(r, ta, tb);
  }
  a.assign(C, 0.0);
  b.assign(C, 0.0);
  for (int t = 0; t < nthr; t++)
    for (int64_t c = 0; c < C; c++) {
      a[c] += pa[static_cast<size_t>(t) * C + c];
      b[c] += pb[static_cast<size_t>(t) * C + c];
    }
}

// batchNormTrain(x, scale, offset, y, mean, variance, [N,H,W,C], epsilon)
// Training forward with batch statistics. The statistics are accumulated in double (oneDNN 2.6 accumulates in
// float, which drifts from the cpu reference by ~1e-4 in whole-network gradients); y = x·a + b per channel.
Napi::Value Train(const Napi::CallbackInfo& info) {
  const float* x = f32(info[0]);
  const float* scale = f32(info[1]);
  const float* shift = f32(info[2]);
  float* y = f32(info[3]);
  float* mean = f32(info[4]);
  float* var = f32(info[5]);
  auto p = ints(info[6]);
  const double eps = info[7].As<Napi::Number>().DoubleValue();
  const int64_t C = p[3], M = p[0] * p[1] * p[2];
  std::vector<double> s1, s2;
  channelSums(M, C, s1, s2, [&](int64_t r, double* a, double* b) {
    const float* row = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      const double v = row[c];
      a[c] += v;
      b[c] += v * v;
    }
  });
  std::vector<float> ka(C), kb(C);
  for (int64_t c = 0; c < C; c++) {
    const double m = s1[c] / M;
    const double v = std::max(0.0, s2[c] / M - m * m);
    mean[c] = static_cast<float>(m);
    var[c] = static_cast<float>(v);
    const double a = scale[c] / std::sqrt(v + eps);
    ka[c] = static_cast<float>(a);
    kb[c] = static_cast<float>(shift[c] - m * a);
  }
  const float* A = ka.data();
  const float* B = kb.data();
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (M * C >= (1 << 16))
  for (int64_t r = 0; r < M; r++) {
    const float* xr = x + r * C;
    float* yr = y + r * C;
    for (int64_t c = 0; c < C; c++) yr[c] = xr[c] * A[c] + B[c];
  }
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, scale, mean, variance, dx, dscale, doffset, [N,H,W,C], epsilon)
// Full gradient through the batch statistics (what oneDNN's backward with use_scale|use_shift computes):
//   doffset = Σdy, dscale = Σdy·x̂, dx = scale·invstd·(dy − doffset/M − x̂·dscale/M).
Napi::Value TrainGrad(const Napi::CallbackInfo& info) {
  const float* dy = f32(info[0]);
  const float* x = f32(info[1]);
  const float* scale = f32(info[2]);
  const float* mean = f32(info[3]);
  const float* var = f32(info[4]);
  float* dx = f32(info[5]);
  float* dscale = f32(info[6]);
  float* dshift = f32(info[7]);
  auto p = ints(info[8]);
  const double eps = info[9].As<Napi::Number>().DoubleValue();
  const int64_t C = p[3], M = p[0] * p[1] * p[2];
  std::vector<float> mu(mean, mean + C);
  std::vector<double> sdy, sdyx;
  channelSums(M, C, sdy, sdyx, [&](int64_t r, double* a, double* b) {
    const float* g = dy + r * C;
    const float* xr = x + r * C;
    for (int64_t c = 0; c < C; c++) {
      a[c] += g[c];
      b[c] += static_cast<double>(g[c]) * (xr[c] - mu[c]);
    }
  });
  // dx = k1·dy + k2·(x − mean) + k3 per channel.
  std::vector<float> k1(C), k2(C), k3(C);
  for (int64_t c = 0; c < C; c++) {
    const double inv = 1.0 / std::sqrt(static_cast<double>(var[c]) + eps);
    const double ds = sdyx[c] * inv;  // Σ dy·x̂
    dscale[c] = static_cast<float>(ds);
    dshift[c] = static_cast<float>(sdy[c]);
    const double g = scale[c] * inv;
    k1[c] = static_cast<float>(g);
    k2[c] = static_cast<float>(-g * ds * inv / M);
    k3[c] = static_cast<float>(-g * sdy[c] / M);
  }
  const float *K1 = k1.data(), *K2 = k2.data(), *K3 = k3.data(), *MU = mu.data();
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (M * C >= (1 << 16))
  for (int64_t r = 0; r < M; r++) {
    const float* g = dy + r * C;
    const float* xr = x + r * C;
    float* o = dx + r * C;
    for (int64_t c = 0; c < C; c++) o[c] = K1[c] * g[c] + K2[c] * (xr[c] - MU[c]) + K3[c];
  }
  return info.Env().Undefined();
}

struct BwdEntry {
  batch_normalization_backward::primitive_desc pd;
  batch_normalization_backward prim;
};
Cache<FwdEntry> trainCache;
Cache<BwdEntry> trainGradCache;

batch_normalization_forward::primitive_desc trainFwdPd(const memory::desc& md, float eps) {
  batch_normalization_forward::desc d(prop_kind::forward_training, md, eps, kScaleShift);
  return batch_normalization_forward::primitive_desc(d, engine());
}

// batchNormTrainDnnl(x, scale, offset, y, mean, variance, [N,H,W,C], epsilon): oneDNN's forward training.
Napi::Value TrainDnnl(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* scale = f32(info[1]);
  float* shift = f32(info[2]);
  float* y = f32(info[3]);
  float* mean = f32(info[4]);
  float* var = f32(info[5]);
  float eps = info[7].As<Napi::Number>().FloatValue();
  auto p = shapeOf(info[6], eps);
  auto md = dataDesc(p);
  auto& e = trainCache.get(key("bn_train", p), [&]() {
    auto pd = trainFwdPd(md, eps);
    return FwdEntry{pd, batch_normalization_forward(pd)};
  });
  auto cd = chanDesc(p[3]);
  e.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(md, x)},
                            {DNNL_ARG_DST, wrap(md, y)},
                            {DNNL_ARG_SCALE, wrap(cd, scale)},
                            {DNNL_ARG_SHIFT, wrap(cd, shift)},
                            {DNNL_ARG_MEAN, wrap(cd, mean)},
                            {DNNL_ARG_VARIANCE, wrap(cd, var)}});
  stream().wait();
  return info.Env().Undefined();
}

// batchNormTrainGradDnnl(dy, x, scale, mean, variance, dx, dscale, doffset, [N,H,W,C], epsilon): oneDNN's
// backward with use_scale|use_shift (the full gradient through the batch statistics).
Napi::Value TrainGradDnnl(const Napi::CallbackInfo& info) {
  float* dy = f32(info[0]);
  float* x = f32(info[1]);
  float* scale = f32(info[2]);
  float* mean = f32(info[3]);
  float* var = f32(info[4]);
  float* dx = f32(info[5]);
  float* dscale = f32(info[6]);
  float* dshift = f32(info[7]);
  float eps = info[9].As<Napi::Number>().FloatValue();
  auto p = shapeOf(info[8], eps);
  auto md = dataDesc(p);
  auto& e = trainGradCache.get(key("bn_train_grad", p), [&]() {
    auto hint = trainFwdPd(md, eps);
    batch_normalization_backward::desc d(prop_kind::backward, md, md, eps, kScaleShift);
    batch_normalization_backward::primitive_desc pd(d, engine(), hint);
    return BwdEntry{pd, batch_normalization_backward(pd)};
  });
  auto cd = chanDesc(p[3]);
  e.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(md, x)},
                            {DNNL_ARG_DIFF_DST, wrap(md, dy)},
                            {DNNL_ARG_SCALE, wrap(cd, scale)},
                            {DNNL_ARG_MEAN, wrap(cd, mean)},
                            {DNNL_ARG_VARIANCE, wrap(cd, var)},
                            {DNNL_ARG_DIFF_SRC, wrap(md, dx)},
                            {DNNL_ARG_DIFF_SCALE, wrap(cd, dscale)},
                            {DNNL_ARG_DIFF_SHIFT, wrap(cd, dshift)}});
  stream().wait();
  return info.Env().Undefined();
}

// batchNormInference(x, mean, variance, scale, offset, y, [N,H,W,C], epsilon); all statistics are [C].
Napi::Value Inference(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* mean = f32(info[1]);
  float* var = f32(info[2]);
  float* scale = f32(info[3]);
  float* shift = f32(info[4]);
  float* y = f32(info[5]);
  float eps = info[7].As<Napi::Number>().FloatValue();
  auto p = shapeOf(info[6], eps);
  auto md = dataDesc(p);
  auto& e = inferCache.get(key("bn_infer", p), [&]() {
    batch_normalization_forward::desc d(prop_kind::forward_inference, md, eps,
                                        kScaleShift | normalization_flags::use_global_stats);
    batch_normalization_forward::primitive_desc pd(d, engine());
    return FwdEntry{pd, batch_normalization_forward(pd)};
  });
  auto cd = chanDesc(p[3]);
  e.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(md, x)},
                            {DNNL_ARG_DST, wrap(md, y)},
                            {DNNL_ARG_SCALE, wrap(cd, scale)},
                            {DNNL_ARG_SHIFT, wrap(cd, shift)},
                            {DNNL_ARG_MEAN, wrap(cd, mean)},
                            {DNNL_ARG_VARIANCE, wrap(cd, var)}});
  stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, Train));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, TrainGrad));
  exports.Set("batchNormInference", Napi::Function::New(env, Inference));
  exports.Set("batchNormTrainDnnl", Napi::Function::New(env, TrainDnnl));
  exports.Set("batchNormTrainGradDnnl", Napi::Function::New(env, TrainGradDnnl));
}

}  // namespace lm
