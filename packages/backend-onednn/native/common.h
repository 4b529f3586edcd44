// Shared helpers of the addon: engine/stream singleton, argument unpacking, primitive cache.
#pragma once
#include <napi.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace lm {

using dims = dnnl::memory::dims;
using tag = dnnl::memory::format_tag;
using dt = dnnl::memory::data_type;

/** The single CPU engine of the process. */
dnnl::engine& engine();
/** The single in-order stream; every kernel waits on it before returning. */
dnnl::stream& stream();

/** Pointer to the first element of a Float32Array (byteOffset already applied). Throws on other types. */
float* f32(const Napi::Value& v, size_t* length = nullptr);
/** A JS array of numbers as int64 values. */
std::vector<int64_t> ints(const Napi::Value& v);
/** Optional Float32Array: nullptr when the value is null/undefined. */
float* f32OrNull(const Napi::Value& v);

/**
 * An exported function whose C++ errors (std::runtime_error from argument checks, dnnl::error from oneDNN) reach
 * JavaScript as exceptions with their message: node-addon-api only converts Napi::Error, any other exception
 * would end the process.
 */
template <Napi::Value (*F)(const Napi::CallbackInfo&)>
Napi::Value Guarded(const Napi::CallbackInfo& info) {
  try {
    return F(info);
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(info.Env(), std::string("@lm/backend-onednn: ") + e.what());
  }
}

/** Wraps a caller-owned buffer as oneDNN memory (no copy). */
inline dnnl::memory wrap(const dnnl::memory::desc& md, void* ptr) { return dnnl::memory(md, engine(), ptr); }

/** Threads of the element-wise/reduction/copy/batch-norm loops (LM_ONEDNN_LOOP_THREADS, default: OpenMP's). */
int loopThreads();
/** Element count below which a parallel region costs more than it saves (memory-bound loops). */
constexpr int64_t kParallelMin = 1 << 18;

/** A key built from integers, used to cache primitives per shape and attributes. */
std::string key(const char* op, const std::vector<int64_t>& v);

/** Primitive cache keyed by shape and attributes. Entries live for the life of the process. */
template <typename T>
class Cache {
 public:
  template <typename F>
  T& get(const std::string& k, F make) {
    auto it = map_.find(k);
    if (it != map_.end()) return *it->second;
    auto p = std::make_unique<T>(make());
    T& ref = *p;
    map_.emplace(k, std::move(p));
    return ref;
  }
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<std::string, std::unique_ptr<T>> map_;
};

/** A reorder primitive between two layouts: create it once and keep it with the cached primitive that needs it. */
inline dnnl::reorder makeReorder(const dnnl::memory::desc& from, const dnnl::memory::desc& to) {
  return dnnl::reorder(dnnl::reorder::primitive_desc(engine(), from, engine(), to));
}

/**
 * Blocked activations (layout.cc): 4-D float32 activations may live in oneDNN's nChw8c or nChw16c, the layout its
 * convolution and batch-norm kernels run fastest on, instead of nhwc. `block` is 0 for nhwc, else 8 or 16.
 */
bool isActivationBlock(int64_t block);
dnnl::memory::format_tag activationTag(int64_t block);

/** eltwise algorithm code shared with JS: 0 linear, 1 relu, 2 relu6, 3 elu, 4 leakyrelu, 5 sigmoid. */
bool appendActivation(dnnl::post_ops& ops, int code, float alpha);

// Registration functions, one per source file.
void InitEngine(Napi::Env env, Napi::Object exports);
void InitConv(Napi::Env env, Napi::Object exports);
void InitMatmul(Napi::Env env, Napi::Object exports);
void InitBatchNorm(Napi::Env env, Napi::Object exports);
void InitPooling(Napi::Env env, Napi::Object exports);
void InitElementwise(Napi::Env env, Napi::Object exports);
void InitReduction(Napi::Env env, Napi::Object exports);
void InitCopy(Napi::Env env, Napi::Object exports);
void InitOptim(Napi::Env env, Napi::Object exports);
void InitLmStep(Napi::Env env, Napi::Object exports);
void InitMemory(Napi::Env env, Napi::Object exports);
void InitLayout(Napi::Env env, Napi::Object exports);

}  // namespace lm
