// Batch normalization in NHWC on oneDNN's batch_normalization primitive (use_scale | use_shift), data given as
// [N, H, W, C] (other ranks as [M, 1, 1, C]): inference with given statistics, and the training forward (batch
// statistics, biased variance) and backward (the full gradient through the statistics).
// Each takes an optional ReLU on the output, y = max(BN(x), 0) (oneDNN's fuse_norm_relu). In training the forward
// writes the ReLU's mask into a caller-owned workspace (oneDNN's own bit layout, batchNormReluWorkspaceBytes long)
// and the backward reads it there: the ReLU's gradient costs no pass of its own.
#include <vector>

#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

const normalization_flags kScaleShift = normalization_flags::use_scale | normalization_flags::use_shift;

struct FwdEntry {
  batch_normalization_forward::primitive_desc pd;
  batch_normalization_forward prim;
};

normalization_flags withRelu(normalization_flags f, bool relu) { return relu ? f | normalization_flags::fuse_norm_relu : f; }

/** The optional trailing boolean argument `relu` (absent: false). */
bool reluArg(const Napi::CallbackInfo& info, size_t i) { return info.Length() > i && info[i].IsBoolean() && info[i].As<Napi::Boolean>().Value(); }
Cache<FwdEntry> inferCache;

/** The data of shape key p: [N, H, W, C, block, eps] with block 0 (nhwc) or 8/16 (nChw8c/nChw16c, layout.cc). */
memory::desc dataDesc(const std::vector<int64_t>& p) { return {{p[0], p[3], p[1], p[2]}, dt::f32, activationTag(p[4])}; }
memory::desc chanDesc(int64_t c) { return {{c}, dt::f32, tag::a}; }

/** The shape key of [N, H, W, C] or [N, H, W, C, block] and epsilon. */
std::vector<int64_t> shapeOf(const Napi::Value& v, float eps) {
  auto p = ints(v);
  if (p.size() == 4) p.push_back(0);
  if (p.size() != 5) throw std::runtime_error("batchnorm: expected [N, H, W, C] or [N, H, W, C, block]");
  if (p[4] != 0 && (!isActivationBlock(p[4]) || p[3] % p[4] != 0))
    throw std::runtime_error("batchnorm: the block must be 8 or 16 and divide the channels");
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
                float* var, void* workspace = nullptr) {
  auto cd = chanDesc(c);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(md, x)},   {DNNL_ARG_DST, wrap(md, y)},
                                       {DNNL_ARG_SCALE, wrap(cd, scale)}, {DNNL_ARG_SHIFT, wrap(cd, shift)},
                                       {DNNL_ARG_MEAN, wrap(cd, mean)},   {DNNL_ARG_VARIANCE, wrap(cd, var)}};
  if (workspace) args.emplace(DNNL_ARG_WORKSPACE, wrap(e.pd.workspace_desc(), workspace));
  e.prim.execute(stream(), args);
  stream().wait();
}

FwdEntry makeFwd(const batch_normalization_forward::primitive_desc& pd) { return FwdEntry{pd, batch_normalization_forward(pd)}; }

/** The cached training forward for shape key p (…, relu last). */
FwdEntry& trainEntry(const std::vector<int64_t>& p, const memory::desc& md, float eps, bool relu) {
  return trainCache.get(key("bn_train", p), [&]() { return makeFwd(trainFwdPd(md, eps, relu)); });
}

/** Bytes of the ReLU mask of a training BN+ReLU forward, for the caller to allocate. */
size_t workspaceBytes(const FwdEntry& e) { return e.pd.workspace_desc().get_size(); }

/** The workspace argument at info[i] as a pointer, checked to hold the `bytes` the primitive needs. */
void* workspaceArg(const Napi::CallbackInfo& info, size_t i, size_t bytes) {
  size_t n = 0;
  float* ws = f32(info[i], &n);
  if (n * sizeof(float) < bytes)
    throw Napi::RangeError::New(info.Env(), "batchnorm: the ReLU workspace is smaller than batchNormReluWorkspaceBytes");
  return ws;
}

// batchNormTrain(x, scale, offset, y, mean, variance, [N,H,W,C], epsilon, workspace?): oneDNN's forward training;
// with a workspace (a Float32Array of at least batchNormReluWorkspaceBytes) y is max(BN(x), 0) and the workspace
// receives the ReLU's mask for batchNormTrainGrad.
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
  const bool relu = info.Length() > 8 && !info[8].IsNull() && !info[8].IsUndefined();
  p.push_back(relu);
  auto& e = trainEntry(p, md, eps, relu);
  runForward(e, md, p[3], x, y, scale, shift, mean, var, relu ? workspaceArg(info, 8, workspaceBytes(e)) : nullptr);
  return info.Env().Undefined();
}

// batchNormReluWorkspaceBytes([N,H,W,C], epsilon): the size of the ReLU mask of a training BN+ReLU forward.
Napi::Value ReluWorkspaceBytes(const Napi::CallbackInfo& info) {
  float eps = info[1].As<Napi::Number>().FloatValue();
  auto p = shapeOf(info[0], eps);
  auto md = dataDesc(p);
  p.push_back(true);
  return Napi::Number::New(info.Env(), static_cast<double>(workspaceBytes(trainEntry(p, md, eps, true))));
}

// batchNormTrainGrad(dy, x, scale, mean, variance, dx, dscale, doffset, [N,H,W,C], epsilon, workspace|null):
// oneDNN's backward with use_scale|use_shift (the full gradient through the batch statistics); with the
// workspace of a BN+ReLU forward, the primitive (fuse_norm_relu) also applies the ReLU's gradient to dy.
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
  const bool relu = info.Length() > 10 && !info[10].IsNull() && !info[10].IsUndefined();
  p.push_back(relu);
  auto& e = trainGradCache.get(key("bn_train_grad", p), [&]() {
    auto flags = withRelu(kScaleShift, relu);
    auto hint = trainFwdPd(md, eps, relu);
    batch_normalization_backward::desc d(prop_kind::backward, md, md, eps, flags);
    batch_normalization_backward::primitive_desc pd(d, engine(), hint);
    return BwdEntry{pd, batch_normalization_backward(pd)};
  });
  auto cd = chanDesc(p[3]);
  // The primitive takes the shift as an argument although the gradient does not depend on it.
  static std::vector<float> noShift;
  if (noShift.size() < static_cast<size_t>(p[3])) noShift.assign(p[3], 0.f);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(md, x)},
                                       {DNNL_ARG_DIFF_DST, wrap(md, dy)},
                                       {DNNL_ARG_SHIFT, wrap(cd, noShift.data())},
                                       {DNNL_ARG_SCALE, wrap(cd, scale)},
                                       {DNNL_ARG_MEAN, wrap(cd, mean)},
                                       {DNNL_ARG_VARIANCE, wrap(cd, var)},
                                       {DNNL_ARG_DIFF_SRC, wrap(md, dx)},
                                       {DNNL_ARG_DIFF_SCALE, wrap(cd, dscale)},
                                       {DNNL_ARG_DIFF_SHIFT, wrap(cd, dshift)}};
  if (relu) {
    auto wsd = e.pd.workspace_desc();
    args.emplace(DNNL_ARG_WORKSPACE, wrap(wsd, workspaceArg(info, 10, wsd.get_size())));
  }
  e.prim.execute(stream(), args);
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
  exports.Set("batchNormTrain", Napi::Function::New(env, Guarded<Train>));
  exports.Set("batchNormTrainGrad", Napi::Function::New(env, Guarded<TrainGrad>));
  exports.Set("batchNormReluWorkspaceBytes", Napi::Function::New(env, Guarded<ReluWorkspaceBytes>));
  exports.Set("batchNormInference", Napi::Function::New(env, Guarded<Inference>));
}

}  // namespace lm
