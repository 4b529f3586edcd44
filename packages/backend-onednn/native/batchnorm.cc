// Batch normalization in NHWC on oneDNN's batch_normalization primitive (use_scale | use_shift), data viewed as
// [M = N·H·W, C] (a 2-D [N, C] input is {N, C, 1, 1}): inference with given statistics, and the training
// forward (batch statistics, biased variance) and backward (the full gradient through the statistics).
// Each takes an optional ReLU on the output, y = max(BN(x), 0): oneDNN's fuse_norm_relu forward; the backward
// masks dy by y > 0 (the ReLU's gradient) before the batch-norm backward.
#include <vector>

#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

const normalization_flags kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

struct FwdEntry {
  batch_normalization_forward::primitive_desc pd;
  batch_normalization_forward prim;
  memory workspace;  // fuse_norm_relu in training writes its ReLU mask here (unused: the backward masks by y)
};

normalization_flags withRelu(normalization_flags f, bool relu) { return relu ? f | normalization_flags::fuse_norm_relu : f; }

/** The optional trailing boolean argument `relu` (absent: false). */
bool reluArg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value(); }
Cache<FwdEntry> inferCache;

memory::desc dataDesc(const std::vector<int64_t>& p) { return {{p[0], p[3], p[1], p[2]}, dt::f32, tag::nhwc}; }
memory::desc chanDesc(int64_t c) { return {{c}, dt::f32, tag::a}; }

std::vector<int64_t> shapeOf(const Napi::Value& v, float eps) {
  auto p = ints(v);
  if (p.size() != 4) throw std::runtime_error("batchnorm: expected [N, H, W, C]");
  p.push_back(static_cast<int64_t>(static_cast<double>(eps) * 1e12));
  return p;
}

struct BwdEntry {
  batch_normalization_backward::primitive_desc pd;
  batch_normalization_backward prim;
};
Cache<FwdEntry> trainCache;
Cache<BwdEntry> trainGradCache;

batch_normalization_forward::primitive_desc trainFwdPd(const memory::desc& md, float eps, bool relu = false) {
  batch_normalization_forward::desc d(prop_kind::forward_training, md, eps, withRelu(kScaleShift, relu));
  return batch_normalization_forward::primitive_desc(d, engine());
}

/** Runs a cached forward primitive over x -> y with per-channel scale, shift, mean and variance of c channels. */
void runForward(FwdEntry& e, const memory::desc& md, int64_t c, float* x, float* y, float* scale, float* shift, float* mean,
                float* var) {
  auto cd = chanDesc(c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(md, x)},   {DNNL_ARG_DST, wrap(md, y)},
                                       {DNNL_ARG_SCALE, wrap(cd, scale)}, {DNNL_ARG_SHIFT, wrap(cd, shift)},
                                       {DNNL_ARG_MEAN, wrap(cd, mean)},   {DNNL_ARG_VARIANCE, wrap(cd, var)}};
  if (e.workspace) args.emplace(DNNL_ARG_WORKSPACE, e.workspace);
  e.prim.execute(stream(), args);
  stream().wait();
}

/** A forward entry with its workspace when the primitive has one. */
FwdEntry makeFwd(const batch_normalization_forward::primitive_desc& pd) {
  auto ws = pd.workspace_desc();
  return FwdEntry{pd, batch_normalization_forward(pd), ws.get_size() ? memory(ws, engine()) : memory()};
}

/** dst = y > 0 ? dy : 0 over n elements (the ReLU's gradient taken from its output). */
void maskByOutput(const float* __restrict dy, const float* __restrict y, float* __restrict dst, int64_t n) {
#pragma omp parallel for simd schedule(static) num_threads(loopThreads()) if (n >= kParallelMin)
  for (int64_t i = 0; i < n; i++) dst[i] = y[i] > 0.f ? dy[i] : 0.f;
}

// batchNormTrain(x, scale, offset, y, mean, variance, [N,H,W,C], epsilon, relu?): oneDNN's forward training.
Napi::Value Train(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* scale = f32(info[1]);
  float* shift = f32(info[2]);
  float* y = f32(info[3]);
  float* mean = f32(info[4]);
  float* var = f32(info[5]);
  float eps = info[7].As<Napi::Number>().FloatValue();
  auto p = shapeOf(info[6], eps);
  auto md = dataDesc(p);
  const bool relu = reluArg(info, 8);
  p.push_back(relu);
  auto& e = trainCache.get(key("bn_train", p), [&]() { return makeFwd(trainFwdPd(md, eps, relu)); });
  runForward(e, md, p[3], x, y, scale, shift, mean, var);
  return info.Env().Undefined();
}

// batchNormTrainGrad(dy, x, scale, mean, variance, dx, dscale, doffset, [N,H,W,C], epsilon, y|null): oneDNN's
// backward with use_scale|use_shift (the full gradient through the batch statistics); with the forward's output
// y (a BN+ReLU), dy is first masked by y > 0.
Napi::Value TrainGrad(const Napi::CallbackInfo& info) {
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
  float* reluOut = info.Length() > 10 ? f32OrNull(info[10]) : nullptr;
  if (reluOut) {
    // The masked dy goes into dx: the primitive runs in place (diff_dst = diff_src), no scratch buffer.
    maskByOutput(dy, reluOut, dx, p[0] * p[1] * p[2] * p[3]);
    dy = dx;
  }
  auto cd = chanDesc(p[3]);
  // The primitive takes the shift as an argument although the gradient does not depend on it.
  static std::vector<float> noShift;
  if (noShift.size() < static_cast<size_t>(p[3])) noShift.assign(p[3], 0.f);
  e.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(md, x)},
                            {DNNL_ARG_DIFF_DST, wrap(md, dy)},
                            {DNNL_ARG_SHIFT, wrap(cd, noShift.data())},
                            {DNNL_ARG_SCALE, wrap(cd, scale)},
                            {DNNL_ARG_MEAN, wrap(cd, mean)},
                            {DNNL_ARG_VARIANCE, wrap(cd, var)},
                            {DNNL_ARG_DIFF_SRC, wrap(md, dx)},
                            {DNNL_ARG_DIFF_SCALE, wrap(cd, dscale)},
                            {DNNL_ARG_DIFF_SHIFT, wrap(cd, dshift)}});
  stream().wait();
  return info.Env().Undefined();
}

// batchNormInference(x, mean, variance, scale, offset, y, [N,H,W,C], epsilon, relu?); all statistics are [C].
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
  const bool relu = reluArg(info, 8);
  p.push_back(relu);
  auto& e = inferCache.get(key("bn_infer", p), [&]() {
    batch_normalization_forward::desc d(prop_kind::forward_inference, md, eps,
                                        withRelu(kScaleShift | normalization_flags::use_global_stats, relu));
    return makeFwd(batch_normalization_forward::primitive_desc(d, engine()));
  });
  runForward(e, md, p[3], x, y, scale, shift, mean, var);
  return info.Env().Undefined();
}

}  // namespace

void InitBatchNorm(Napi::Env env, Napi::Object exports) {
  exports.Set("batchNormTrain", Napi::Function::New(env, Train));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, TrainGrad));
  exports.Set("batchNormInference", Napi::Function::New(env, Inference));
}

}  // namespace lm
