// Batched matrix multiplication with transposes (stride-based descriptors), batch broadcast, bias and activation.
#include "common.h"

namespace lm {
namespace {

using namespace dnnl;

struct Entry {
  matmul::primitive_desc pd;
  matmul prim;
};
Cache<Entry> cache;

// matmul(a, b, bias|null, out, [batchA, batchB, M, K, N, transposeA, transposeB], activation, alpha)
// a is [batchA, M, K] (or [batchA, K, M] transposed), b is [batchB, K, N] (or [batchB, N, K]); out is [max batch, M, N].
// bias, when given, has N elements.
Napi::Value MatMul(const Napi::CallbackInfo& info) {
  float* a = f32(info[0]);
  float* b = f32(info[1]);
  float* bias = f32OrNull(info[2]);
  float* c = f32(info[3]);
  auto p = ints(info[4]);
  int act = info[5].As<Napi::Number>().Int32Value();
  float alpha = info[6].As<Napi::Number>().FloatValue();
  if (p.size() != 7) throw std::runtime_error("matmul: expected 7 shape parameters");
  const int64_t ba = p[0], bb = p[1], M = p[2], K = p[3], N = p[4], ta = p[5], tb = p[6];
  const int64_t B = std::max(ba, bb);
  memory::desc amd({ba, M, K}, dt::f32, ta ? memory::dims{K * M, 1, M} : memory::dims{M * K, K, 1});
  memory::desc bmd({bb, K, N}, dt::f32, tb ? memory::dims{N * K, 1, K} : memory::dims{K * N, N, 1});
  memory::desc cmd({B, M, N}, dt::f32, tag::abc);
  memory::desc biasmd({1, 1, N}, dt::f32, tag::abc);
  std::vector<int64_t> k = p;
  k.push_back(bias != nullptr);
  k.push_back(act);
  k.push_back(static_cast<int64_t>(alpha * 1e6));
  auto& e = cache.get(key("matmul", k), [&]() {
    post_ops ops;
    if (!appendActivation(ops, act, alpha)) throw std::runtime_error("matmul: unsupported activation");
    primitive_attr attr;
    attr.set_post_ops(ops);
    auto d = bias ? matmul::desc(amd, bmd, biasmd, cmd) : matmul::desc(amd, bmd, cmd);
    matmul::primitive_desc pd(d, attr, engine());
    return Entry{pd, matmul(pd)};
  });
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, wrap(amd, a)}, {DNNL_ARG_WEIGHTS, wrap(bmd, b)}, {DNNL_ARG_DST, wrap(cmd, c)}};
  if (bias) args.emplace(DNNL_ARG_BIAS, wrap(biasmd, bias));
  e.prim.execute(stream(), args);
  stream().wait();
  return info.Env().Undefined();
}

}  // namespace

void InitMatmul(Napi::Env env, Napi::Object exports) { exports.Set("matMul", Napi::Function::New(env, Guarded<MatMul>)); }

}  // namespace lm
