// The SGD update of torch.optim.SGD over every parameter in one call (see @lm/trainer's optim/sgd.ts):
//   g ← ∇w + wd·w;  b ← g (first step) or μ·b + (1 − dampening)·g;  d ← g + μ·b (Nesterov) or b;  w ← w − lr·d,
// with lr and wd per parameter (parameter groups: a learning-rate scale, a weight decay of their own, none).
// With μ = 0 there is no buffer and d = g. Each operation rounds to float32 as the op-by-op path.
#include <algorithm>

#include "common.h"

namespace lm {
namespace {

struct Param {
  const float* w;
  const float* g;
  const float* b;  // nullptr: no buffer yet (first step)
  float* wOut;
  float* bOut;  // nullptr when μ = 0
  int64_t n;
  float lr;  // this parameter's learning rate
  float wd;  // this parameter's weight decay (0: none)
};

struct Hyper {
  float mu, damp;
  bool nesterov;
};

void update(const Param& p, int64_t i0, int64_t i1, const Hyper& h) {
  const float wd = p.wd;
  for (int64_t i = i0; i < i1; i++) {
    float g = p.g[i];
    if (wd != 0.f) g = g + p.w[i] * wd;
    float d = g;
    if (p.bOut) {
      const float b = p.b ? p.b[i] * h.mu + (h.damp == 0.f ? g : g * (1.f - h.damp)) : g;
      p.bOut[i] = b;
      d = h.nesterov ? g + b * h.mu : b;
    }
    p.wOut[i] = p.w[i] - d * p.lr;
  }
}

Napi::Array asArray(const Napi::Value& v, const char* what) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), std::string("sgdStep: ") + what + " must be an array");
  return v.As<Napi::Array>();
}

// sgdStep(ws[], gs[], bs[] (Float32Array|null), wOuts[], bOuts[] (Float32Array|null), lrs[] (number),
//         weightDecays[] (number), [momentum, dampening, nesterov])
Napi::Value SgdStep(const Napi::CallbackInfo& info) {
  auto ws = asArray(info[0], "ws"), gs = asArray(info[1], "gs"), bs = asArray(info[2], "bs");
  auto wo = asArray(info[3], "wOuts"), bo = asArray(info[4], "bOuts");
  auto lrs = asArray(info[5], "lrs"), wds = asArray(info[6], "weightDecays");
  auto hv = asArray(info[7], "hyper-parameters");
  Hyper h{hv.Get(0u).As<Napi::Number>().FloatValue(), hv.Get(1u).As<Napi::Number>().FloatValue(),
          hv.Get(2u).As<Napi::Number>().DoubleValue() != 0};
  const uint32_t n = ws.Length();
  std::vector<Param> ps(n);
  int64_t total = 0;
  for (uint32_t i = 0; i < n; i++) {
    size_t len = 0, glen = 0, olen = 0;
    Param& p = ps[i];
    p.w = f32(ws.Get(i), &len);
    p.g = f32(gs.Get(i), &glen);
    p.wOut = f32(wo.Get(i), &olen);
    p.b = f32OrNull(bs.Get(i));
    p.bOut = f32OrNull(bo.Get(i));
    p.n = static_cast<int64_t>(len);
    p.lr = lrs.Get(i).As<Napi::Number>().FloatValue();
    p.wd = wds.Get(i).As<Napi::Number>().FloatValue();
    if (glen != len || olen != len) throw std::runtime_error("sgdStep: weight, gradient and output sizes differ");
    total += p.n;
  }
  // Chunks of at most 64 K elements, so that one large parameter spreads over the threads too.
  constexpr int64_t kChunk = 1 << 16;
  std::vector<std::pair<uint32_t, int64_t>> chunks;
  for (uint32_t i = 0; i < n; i++)
    for (int64_t s = 0; s < ps[i].n; s += kChunk) chunks.emplace_back(i, s);
  const int64_t nc = static_cast<int64_t>(chunks.size());
#pragma omp parallel for schedule(dynamic, 1) num_threads(loopThreads()) if (total >= kParallelMin)
  for (int64_t c = 0; c < nc; c++) {
    const Param& p = ps[chunks[c].first];
    const int64_t s = chunks[c].second;
    update(p, s, std::min(p.n, s + kChunk), h);
  }
  return info.Env().Undefined();
}

}  // namespace

void InitOptim(Napi::Env env, Napi::Object exports) { exports.Set("sgdStep", Napi::Function::New(env, Guarded<SgdStep>)); }

}  // namespace lm
