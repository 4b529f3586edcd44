// Engine and stream singleton, argument helpers, version/thread info.
#include <omp.h>

#include "common.h"

namespace lm {

dnnl::engine& engine() {
  static dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

dnnl::stream& stream() {
  static dnnl::stream s(engine());
  return s;
}

float* f32(const Napi::Value& v, size_t* length) {
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(v.Env(), "expected a Float32Array");
  auto a = v.As<Napi::Float32Array>();
  if (length) *length = a.ElementLength();
  return a.Data();
}

float* f32OrNull(const Napi::Value& v) {
  if (v.IsNull() || v.IsUndefined()) return nullptr;
  return f32(v);
}

std::vector<int64_t> ints(const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(v.Env(), "expected an array of integers");
  auto a = v.As<Napi::Array>();
  std::vector<int64_t> out(a.Length());
  for (uint32_t i = 0; i < a.Length(); i++) out[i] = static_cast<int64_t>(a.Get(i).As<Napi::Number>().DoubleValue());
  return out;
}

static int gLoopThreads = 0;
int loopThreads() { return gLoopThreads > 0 ? gLoopThreads : omp_get_max_threads(); }

std::string key(const char* op, const std::vector<int64_t>& v) {
  std::string k(op);
  for (auto x : v) {
    k += ',';
    k += std::to_string(x);
  }
  return k;
}

bool appendActivation(dnnl::post_ops& ops, int code, float alpha) {
  using A = dnnl::algorithm;
  switch (code) {
    case 0: return true;
    case 1: ops.append_eltwise(1.f, A::eltwise_relu, 0.f, 0.f); return true;
    case 2: ops.append_eltwise(1.f, A::eltwise_clip, 0.f, 6.f); return true;
    case 3: ops.append_eltwise(1.f, A::eltwise_elu, 1.f, 0.f); return true;
    case 4: ops.append_eltwise(1.f, A::eltwise_relu, alpha, 0.f); return true;
    case 5: ops.append_eltwise(1.f, A::eltwise_logistic, 0.f, 0.f); return true;
    default: return false;
  }
}

static const char* isaName(dnnl::cpu_isa isa) {
  using I = dnnl::cpu_isa;
  switch (isa) {
    case I::sse41: return "sse41";
    case I::avx: return "avx";
    case I::avx2: return "avx2";
    case I::avx512_mic: return "avx512_mic";
    case I::avx512_mic_4ops: return "avx512_mic_4ops";
    case I::avx512_core: return "avx512_core";
    case I::avx512_core_vnni: return "avx512_core_vnni";
    case I::avx512_core_bf16: return "avx512_core_bf16";
    case I::avx512_core_amx: return "avx512_core_amx";
    case I::avx2_vnni: return "avx2_vnni";
    default: return "unknown";
  }
}

static Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto o = Napi::Object::New(env);
  const dnnl_version_t* v = dnnl::version();
  o.Set("version", std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch));
  o.Set("threads", omp_get_max_threads());
  o.Set("loopThreads", loopThreads());
  o.Set("isa", isaName(dnnl::get_effective_cpu_isa()));
  o.Set("cpuRuntime", v->cpu_runtime == DNNL_RUNTIME_OMP ? "omp" : "other");
  return o;
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  omp_set_num_threads(info[0].As<Napi::Number>().Int32Value());
  if (info.Length() > 1 && info[1].IsNumber()) gLoopThreads = info[1].As<Napi::Number>().Int32Value();
  return info.Env().Undefined();
}

void InitEngine(Napi::Env env, Napi::Object exports) {
  exports.Set("info", Napi::Function::New(env, Guarded<Info>));
  exports.Set("setThreads", Napi::Function::New(env, Guarded<SetThreads>));
}

}  // namespace lm
