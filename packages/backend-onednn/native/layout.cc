// Blocked activations: oneDNN's convolutions and batch norms run fastest with the channels of 4-D activations in
// blocks of 8 (AVX2) or 16 (AVX-512): nChw8c stores element (n, c, h, w) at ((n·C/8 + c/8)·H·W + h·W + w)·8 + c%8.
// activationBlock() asks oneDNN which block its convolution prefers; reorderActivation() converts one tensor
// between nhwc and that layout.
#include "common.h"

namespace lm {

bool isActivationBlock(int64_t block) { return block == 8 || block == 16; }

dnnl::memory::format_tag activationTag(int64_t block) {
  if (block == 8) return tag::nChw8c;
  if (block == 16) return tag::nChw16c;
  return tag::nhwc;
}

namespace {

using namespace dnnl;

// activationBlock() -> 8 or 16: the block of the source layout oneDNN picks for a 3x3 convolution of 64 channels
// when free to choose; 0 when it picks no nChw8c / nChw16c layout (then activations stay nhwc).
Napi::Value ActivationBlock(const Napi::CallbackInfo& info) {
  static const int64_t block = []() -> int64_t {
    const memory::dims x{32, 64, 8, 8}, w{64, 64, 3, 3};
    const memory::desc any(x, dt::f32, tag::any), wany(w, dt::f32, tag::any);
    convolution_forward::desc d(prop_kind::forward_training, algorithm::convolution_direct, any, wany, any, {1, 1}, {0, 0},
                                {1, 1}, {1, 1});
    convolution_forward::primitive_desc pd(d, engine());
    for (int64_t b : {8, 16})
      if (pd.src_desc() == memory::desc(x, dt::f32, activationTag(b))) return b;
    return 0;
  }();
  return Napi::Number::New(info.Env(), static_cast<double>(block));
}

Cache<reorder> reorderCache;

// reorderActivation(src, dst, [N, H, W, C], block, toBlocked): dst = src converted from nhwc to nChw<block>c
// (toBlocked) or back. C must be a multiple of the block.
Napi::Value ReorderActivation(const Napi::CallbackInfo& info) {
  size_t ns = 0, nd = 0;
  float* src = f32(info[0], &ns);
  float* dst = f32(info[1], &nd);
  auto s = ints(info[2]);
  const int64_t block = info[3].As<Napi::Number>().Int64Value();
  const bool toBlocked = info[4].As<Napi::Boolean>().Value();
  if (s.size() != 4) throw std::runtime_error("reorderActivation: expected [N, H, W, C]");
  if (!isActivationBlock(block) || s[3] % block != 0)
    throw std::runtime_error("reorderActivation: the block must be 8 or 16 and divide the channels");
  const size_t n = static_cast<size_t>(s[0] * s[1] * s[2] * s[3]);
  if (ns != n || nd != n) throw std::runtime_error("reorderActivation: the buffers must hold N·H·W·C elements");
  const memory::dims d{s[0], s[3], s[1], s[2]};
  const memory::desc plain(d, dt::f32, tag::nhwc), blocked(d, dt::f32, activationTag(block));
  s.push_back(block);
  s.push_back(toBlocked);
  auto& r = reorderCache.get(key("reorder_activation", s), [&]() { return toBlocked ? makeReorder(plain, blocked) : makeReorder(blocked, plain); });
  memory from = wrap(toBlocked ? plain : blocked, src), to = wrap(toBlocked ? blocked : plain, dst);
  r.execute(stream(), from, to);
  stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitLayout(Napi::Env env, Napi::Object exports) {
  exports.Set("activationBlock", Napi::Function::New(env, Guarded<ActivationBlock>));
  exports.Set("reorderActivation", Napi::Function::New(env, Guarded<ReorderActivation>));
}

}  // namespace lm
