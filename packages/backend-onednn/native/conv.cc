// 2-D convolution in NHWC: forward (with bias and activation post-ops), backward data, backward weights.
// Plain convolutions (groups = 1) use TF's HWIO filters. Grouped ones use [fh,fw,in/groups,out] with output channel
// g·(out/groups) + o, i.e. oneDNN's 5-D hwigo over dims {groups, out/groups, in/groups, fh, fw}. Depthwise
// convolutions are the case groups = in: TF's [fh,fw,in,mult] is [fh,fw,1,in·mult] with that channel order.
#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

/** Shape parameters passed from JS, in this order. */
struct ConvParams {
  int64_t n, h, w, c, oh, ow, oc, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr, groups;
  /** 0: activations (source and destination) in nhwc; 8 or 16: both in oneDNN's nChw8c / nChw16c (layout.cc). */
  int64_t block = 0;
  explicit ConvParams(const std::vector<int64_t>& p) {
    if (p.size() < 18) throw std::runtime_error("conv: expected 18 shape parameters");
    n = p[0]; h = p[1]; w = p[2]; c = p[3]; oh = p[4]; ow = p[5]; oc = p[6]; kh = p[7]; kw = p[8];
    sh = p[9]; sw = p[10]; dh = p[11]; dw = p[12]; pt = p[13]; pl = p[14]; pb = p[15]; pr = p[16];
    groups = p[17];
    if (p.size() > 19) block = p[19];
    if (groups < 1 || c % groups != 0 || oc % groups != 0)
      throw std::runtime_error("conv: groups must be >= 1 and divide the input and output channels");
    if (block != 0 && (!isActivationBlock(block) || (c / groups) % block != 0 || (oc / groups) % block != 0))
      throw std::runtime_error("conv: a blocked layout needs the channels of each group divisible by the block");
  }
  memory::desc src() const { return {{n, c, h, w}, dt::f32, activationTag(block)}; }
  memory::desc dst() const { return {{n, oc, oh, ow}, dt::f32, activationTag(block)}; }
  memory::dims wdims() const {
    if (groups > 1) return {groups, oc / groups, c / groups, kh, kw};
    return {oc, c, kh, kw};
  }
  memory::desc userWeights() const { return {wdims(), dt::f32, groups > 1 ? tag::hwigo : tag::hwio}; }
  memory::desc anyWeights() const { return {wdims(), dt::f32, tag::any}; }
  memory::desc bias() const { return {{oc}, dt::f32, tag::a}; }
  memory::dims strides() const { return {sh, sw}; }
  memory::dims dilates() const { return {dh - 1, dw - 1}; }
  memory::dims padL() const { return {pt, pl}; }
  memory::dims padR() const { return {pb, pr}; }

  convolution_forward::desc fwdDesc(bool withBias, prop_kind prop) const {
    if (withBias)
      return convolution_forward::desc(prop, algorithm::convolution_direct, src(), anyWeights(), bias(), dst(),
                                       strides(), dilates(), padL(), padR());
    return convolution_forward::desc(prop, algorithm::convolution_direct, src(), anyWeights(), dst(), strides(),
                                     dilates(), padL(), padR());
  }
};

/**
 * A cached convolution primitive. When the primitive prefers another weights layout than the user's (HWIO or
 * hwigo), `w` is a scratch in its layout and `re` the reorder between the two, both made once with the primitive.
 */
template <typename P>
struct Entry {
  P prim;
  memory::desc userW;
  memory w;    // empty when the primitive uses the user's layout
  reorder re;  // user -> w (forward, backward data) or w -> user (backward weights)
  /** The weights memory the primitive reads or writes: the scratch when reordering, else the user's buffer. */
  memory& weights(memory& user) { return w ? w : user; }
};

template <typename P>
Entry<P> makeEntry(const typename P::primitive_desc& pd, const memory::desc& primW, const ConvParams& s, bool toUser) {
  memory::desc uw = s.userWeights();
  if (primW == uw) return {P(pd), uw, memory(), reorder()};
  return {P(pd), uw, memory(primW, engine()), toUser ? makeReorder(primW, uw) : makeReorder(uw, primW)};
}

Cache<Entry<convolution_forward>> fwdCache;
Cache<Entry<convolution_backward_data>> bwdDataCache;
Cache<Entry<convolution_backward_weights>> bwdWeightsCache;

/** The primitive descriptor of a backward pass P (data or weights), hinted by the forward training pass. */
template <typename P>
typename P::primitive_desc backwardPd(const ConvParams& s) {
  convolution_forward::primitive_desc hint(s.fwdDesc(false, prop_kind::forward_training), engine());
  typename P::desc d(algorithm::convolution_direct, s.src(), s.anyWeights(), s.dst(), s.strides(), s.dilates(), s.padL(),
                     s.padR());
  return typename P::primitive_desc(d, engine(), hint);
}

/**
 * The weights gradient of a grouped convolution one group at a time (parameter 18 = 1): oneDNN's grouped
 * backward-weights kernel on channels-last data is slower than its plain one on a group's contiguous copy. Group g's channels of a
 * channels-last tensor are the view {n, cg, h, w} with the full tensor's strides at element offset g·cg; its
 * weights in the user's [kh, kw, cg, G·og] filter are the view {og, cg, kh, kw} at offset g·og. Reorders copy the
 * views into dense scratch in the plain primitive's layouts and the group's output back into its view.
 */
memory::desc channelSlice(int64_t n, int64_t cg, int64_t h, int64_t w, int64_t C) {
  return memory::desc({n, cg, h, w}, dt::f32, memory::dims{h * w * C, 1, w * C, C});
}
memory::desc weightSlice(const ConvParams& s) {
  int64_t cg = s.c / s.groups, og = s.oc / s.groups;
  return memory::desc({og, cg, s.kh, s.kw}, dt::f32, memory::dims{1, s.oc, s.kw * cg * s.oc, cg * s.oc});
}

/** One group's convolution (groups = 1) with the channel counts divided by the groups. */
ConvParams oneGroup(const ConvParams& s) {
  ConvParams g = s;
  g.c = s.c / s.groups;
  g.oc = s.oc / s.groups;
  g.groups = 1;
  return g;
}

/** A cached per-group convolution: scratch for its two inputs and its output, and the reorders to and from the views. */
template <typename P>
struct GroupEntry {
  P prim;
  memory a, b, out;
  memory::desc va, vb, vout;  // the views of one group in the caller's buffers
  reorder ra, rb, rout;       // va -> a, vb -> b, out -> vout
  /** Runs every group: buffer pointers and their element offsets per group. */
  void run(float* pa, int64_t da, float* pb, int64_t db, float* pout, int64_t dout, int64_t groups, int argA, int argB, int argOut) {
    for (int64_t g = 0; g < groups; g++) {
      memory ma = wrap(va, pa + g * da), mb = wrap(vb, pb + g * db), mout = wrap(vout, pout + g * dout);
      ra.execute(stream(), ma, a);
      rb.execute(stream(), mb, b);
      prim.execute(stream(), {{argA, a}, {argB, b}, {argOut, out}});
      rout.execute(stream(), out, mout);
    }
    stream().wait();
  }
};

template <typename P>
GroupEntry<P> makeGroupEntry(const typename P::primitive_desc& pd, const memory::desc& a, const memory::desc& va,
                             const memory::desc& b, const memory::desc& vb, const memory::desc& out, const memory::desc& vout) {
  return {P(pd), memory(a, engine()), memory(b, engine()), memory(out, engine()), va, vb, vout,
          makeReorder(va, a), makeReorder(vb, b), makeReorder(out, vout)};
}

Cache<GroupEntry<convolution_backward_weights>> bwdWeightsGroupCache;

bool perGroup(const std::vector<int64_t>& p) { return p.size() > 18 && p[18] == 1; }

void backwardWeightsPerGroup(const ConvParams& s, const std::vector<int64_t>& p, float* x, float* dy, float* dw) {
  auto& e = bwdWeightsGroupCache.get(key("conv_bwd_weights_groups", p), [&]() {
    ConvParams g = oneGroup(s);
    auto pd = backwardPd<convolution_backward_weights>(g);
    return makeGroupEntry<convolution_backward_weights>(pd, g.src(), channelSlice(s.n, g.c, s.h, s.w, s.c), g.dst(),
                                                        channelSlice(s.n, g.oc, s.oh, s.ow, s.oc), pd.diff_weights_desc(),
                                                        weightSlice(s));
  });
  int64_t cg = s.c / s.groups, og = s.oc / s.groups;
  e.run(x, cg, dy, og, dw, og, s.groups, DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS);
}

// conv2dForward(x, filter, bias|null, y, params[18] (the last: groups), activation, alpha)
Napi::Value Forward(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* wt = f32(info[1]);
  float* bias = f32OrNull(info[2]);
  float* y = f32(info[3]);
  auto p = ints(info[4]);
  int act = info[5].As<Napi::Number>().Int32Value();
  float alpha = info[6].As<Napi::Number>().FloatValue();
  ConvParams s(p);
  p.push_back(bias != nullptr);
  p.push_back(act);
  p.push_back(static_cast<int64_t>(alpha * 1e6));
  auto& e = fwdCache.get(key("conv_fwd", p), [&]() {
    post_ops ops;
    if (!appendActivation(ops, act, alpha)) throw std::runtime_error("conv: unsupported activation");
    primitive_attr attr;
    attr.set_post_ops(ops);
    convolution_forward::primitive_desc pd(s.fwdDesc(bias != nullptr, prop_kind::forward_inference), attr, engine());
    return makeEntry<convolution_forward>(pd, pd.weights_desc(), s, false);
  });
  memory src = wrap(s.src(), x), dst = wrap(s.dst(), y), uw = wrap(e.userW, wt);
  if (e.w) e.re.execute(stream(), uw, e.w);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, e.weights(uw)}, {DNNL_ARG_DST, dst}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(s.bias(), bias));
  e.prim.execute(stream(), args);
  stream().wait();
  return info.Env().Undefined();
}

// conv2dBackpropInput(dy, filter, dx, params[18])
Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  float* dy = f32(info[0]);
  float* wt = f32(info[1]);
  float* dx = f32(info[2]);
  auto p = ints(info[3]);
  ConvParams s(p);
  auto& e = bwdDataCache.get(key("conv_bwd_data", p), [&]() {
    auto pd = backwardPd<convolution_backward_data>(s);
    return makeEntry<convolution_backward_data>(pd, pd.weights_desc(), s, false);
  });
  memory ddst = wrap(s.dst(), dy), dsrc = wrap(s.src(), dx), uw = wrap(e.userW, wt);
  if (e.w) e.re.execute(stream(), uw, e.w);
  e.prim.execute(stream(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, e.weights(uw)}, {DNNL_ARG_DIFF_SRC, dsrc}});
  stream().wait();
  return info.Env().Undefined();
}

// conv2dBackpropFilter(x, dy, dw, params[18], optionally a 19th: 1 = one group at a time)
Napi::Value BackwardWeights(const Napi::CallbackInfo& info) {
  float* x = f32(info[0]);
  float* dy = f32(info[1]);
  float* dw = f32(info[2]);
  auto p = ints(info[3]);
  ConvParams s(p);
  if (perGroup(p) && s.groups > 1 && s.block == 0) {
    backwardWeightsPerGroup(s, p, x, dy, dw);
    return info.Env().Undefined();
  }
  auto& e = bwdWeightsCache.get(key("conv_bwd_weights", p), [&]() {
    auto pd = backwardPd<convolution_backward_weights>(s);
    return makeEntry<convolution_backward_weights>(pd, pd.diff_weights_desc(), s, true);
  });
  memory src = wrap(s.src(), x), ddst = wrap(s.dst(), dy), uw = wrap(e.userW, dw);
  e.prim.execute(stream(), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, e.weights(uw)}});
  if (e.w) e.re.execute(stream(), e.w, uw);
  stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Guarded<Forward>));
  exports.Set("conv2dBackpropInput", Napi::Function::New(env, Guarded<BackwardData>));
  exports.Set("conv2dBackpropFilter", Napi::Function::New(env, Guarded<BackwardWeights>));
}

}  // namespace lm
