// 2-D max/average pooling in NHWC and their gradients. Average pooling excludes padding (as the tfjs and TF
// forward). MaxPoolGrad recomputes the forward pass with a workspace (cheap next to the convolutions) so it
// needs no state kept between calls.
#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

struct PoolParams {
  int64_t n, h, w, c, oh, ow, kh, kw, sh, sw, pt, pl, pb, pr;
  explicit PoolParams(const std::vector<int64_t>& p) {
    if (p.size() != 14) throw std::runtime_error("pool: expected 14 shape parameters");
    n = p[0]; h = p[1]; w = p[2]; c = p[3]; oh = p[4]; ow = p[5]; kh = p[6]; kw = p[7];
    sh = p[8]; sw = p[9]; pt = p[10]; pl = p[11]; pb = p[12]; pr = p[13];
  }
  memory::desc src() const { return {{n, c, h, w}, dt::f32, tag::nhwc}; }
  memory::desc dst() const { return {{n, c, oh, ow}, dt::f32, tag::nhwc}; }
  pooling_forward::desc fwd(prop_kind prop, algorithm alg) const {
    return pooling_forward::desc(prop, alg, src(), dst(), {sh, sw}, {kh, kw}, {pt, pl}, {pb, pr});
  }
};

algorithm algOf(bool isMax) { return isMax ? algorithm::pooling_max : algorithm::pooling_avg_exclude_padding; }

struct FwdEntry {
  pooling_forward::primitive_desc pd;
  pooling_forward prim;
};
struct BwdEntry {
  pooling_forward::primitive_desc fpd;
  pooling_forward fprim;
  pooling_backward::primitive_desc pd;
  pooling_backward prim;
  memory ws, y;  // scratch: workspace and forward output of the recomputed forward (max only)
};
Cache<FwdEntry> fwdCache;
Cache<BwdEntry> bwdCache;

// poolForward(x, y, params[14], isMax)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* y = f32(info[1]);
  auto p = ints(info[2]);
  bool isMax = info[3].As<Napi::Boolean>().Value();
  PoolParams s(p);
  p.push_back(isMax);
  auto& e = fwdCache.get(key("pool_fwd", p), [&]() {
    pooling_forward::primitive_desc pd(s.fwd(prop_kind::forward_inference, algOf(isMax)), engine());
    return FwdEntry{pd, pooling_forward(pd)};
  });
  e.prim.execute(stream(), {{DNNL_ARG_SRC, wrap(s.src(), x)}, {DNNL_ARG_DST, wrap(s.dst(), y)}});
  stream().wait();
  return info.Env().Undefined();
}

// poolBackward(dy, x|null, dx, params[14], isMax); x is needed for max pooling only.
Napi::Value Backward(const Napi::CallbackInfo& info) {
  float* dy = f32(info[0]);
  float* x = f32OrNull(info[1]);
  float* dx = f32(info[2]);
  auto p = ints(info[3]);
  bool isMax = info[4].As<Napi::Boolean>().Value();
  PoolParams s(p);
  if (isMax && !x) throw std::runtime_error("maxPoolGrad needs the input");
  p.push_back(isMax);
  auto& e = bwdCache.get(key("pool_bwd", p), [&]() {
    pooling_forward::primitive_desc fpd(s.fwd(prop_kind::forward_training, algOf(isMax)), engine());
    pooling_backward::desc d(algOf(isMax), s.src(), s.dst(), {s.sh, s.sw}, {s.kh, s.kw}, {s.pt, s.pl}, {s.pb, s.pr});
    pooling_backward::primitive_desc pd(d, engine(), fpd);
    memory ws = isMax ? memory(fpd.workspace_desc(), engine()) : memory();
    memory y = isMax ? memory(s.dst(), engine()) : memory();
    return BwdEntry{fpd, pooling_forward(fpd), pd, pooling_backward(pd), ws, y};
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_DIFF_DST, wrap(s.dst(), dy)}, {DNNL_ARG_DIFF_SRC, wrap(s.src(), dx)}};
  if (isMax) {
    e.fprim.execute(stream(), {{DNNL_ARG_SRC, wrap(s.src(), x)}, {DNNL_ARG_DST, e.y}, {DNNL_ARG_WORKSPACE, e.ws}});
    args.emplace(DNNL_ARG_WORKSPACE, e.ws);
  }
  e.prim.execute(stream(), args);
  stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitPooling(Napi::Env env, Napi::Object exports) {
  exports.Set("poolForward", Napi::Function::New(env, Guarded<Forward>));
  exports.Set("poolBackward", Napi::Function::New(env, Guarded<Backward>));
}

}  // namespace lm
