// Data movement on 4-byte elements (float32 or int32): Slice (strided region copy) and constant Pad.
#include <cstring>

#include "common.h"

namespace lm {
namespace {

/** Pointer and element count of a TypedArray of 4-byte elements. */
uint32_t* words(const Napi::Value& v, size_t* n) {
  if (!v.IsTypedArray()) throw Napi::TypeError::New(v.Env(), "expected a TypedArray");
  auto t = v.As<Napi::TypedArray>();
  auto ty = t.TypedArrayType();
  if (ty != napi_float32_array && ty != napi_int32_array && ty != napi_uint32_array)
    throw Napi::TypeError::New(v.Env(), "expected a 4-byte TypedArray");
  *n = t.ElementLength();
  return reinterpret_cast<uint32_t*>(static_cast<uint8_t*>(t.ArrayBuffer().Data()) + t.ByteOffset());
}

/**
 * Copies the box `size` at `begin` of the array `src` (shape `shape`) into the box at `dbegin` of `dst` (shape
 * `dshape`). Rows along the last axis are contiguous in both and copied with memcpy.
 */
void copyBox(const uint32_t* src, const std::vector<int64_t>& shape, const std::vector<int64_t>& begin,
             uint32_t* dst, const std::vector<int64_t>& dshape, const std::vector<int64_t>& dbegin,
             const std::vector<int64_t>& size) {
  const size_t r = shape.size();
  std::vector<int64_t> ss(r), ds(r);
  int64_t a = 1, b = 1;
  for (size_t i = r; i-- > 0;) {
    ss[i] = a;
    ds[i] = b;
    a *= shape[i];
    b *= dshape[i];
  }
  int64_t rows = 1;
  for (size_t i = 0; i + 1 < r; i++) rows *= size[i];
  const int64_t inner = size[r - 1];
  if (rows == 0 || inner == 0) return;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (rows * inner >= kParallelMin)
  for (int64_t row = 0; row < rows; row++) {
    int64_t rem = row, so = begin[r - 1], dof = dbegin[r - 1];
    for (size_t i = r - 1; i-- > 0;) {
      int64_t idx = rem % size[i];
      rem /= size[i];
      so += (idx + begin[i]) * ss[i];
      dof += (idx + dbegin[i]) * ds[i];
    }
    std::memcpy(dst + dof, src + so, static_cast<size_t>(inner) * 4);
  }
}

// slice(x, shape, begin, size, out)
Napi::Value Slice(const Napi::CallbackInfo& info) {
  size_t n = 0, m = 0;
  const uint32_t* x = words(info[0], &n);
  auto shape = ints(info[1]), begin = ints(info[2]), size = ints(info[3]);
  uint32_t* out = words(info[4], &m);
  if (shape.empty()) {
    if (m) out[0] = x[0];
    return info.Env().Undefined();
  }
  copyBox(x, shape, begin, out, size, std::vector<int64_t>(shape.size(), 0), size);
  return info.Env().Undefined();
}

// pad(x, shape, before, out, outShape, valueBits): out = value everywhere, x copied at offset `before`.
Napi::Value Pad(const Napi::CallbackInfo& info) {
  size_t n = 0, m = 0;
  const uint32_t* x = words(info[0], &n);
  auto shape = ints(info[1]), before = ints(info[2]);
  uint32_t* out = words(info[3], &m);
  auto oshape = ints(info[4]);
  uint32_t value = info[5].As<Napi::Number>().Uint32Value();
  const int64_t total = static_cast<int64_t>(m);
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (total >= kParallelMin)
  for (int64_t i = 0; i < total; i++) out[i] = value;
  if (shape.empty()) return info.Env().Undefined();
  copyBox(x, shape, std::vector<int64_t>(shape.size(), 0), out, oshape, before, shape);
  return info.Env().Undefined();
}

// place(x, shape, out, outShape, at): copies all of x into out at offset `at` (used by Concat).
Napi::Value Place(const Napi::CallbackInfo& info) {
  size_t n = 0, m = 0;
  const uint32_t* x = words(info[0], &n);
  auto shape = ints(info[1]);
  uint32_t* out = words(info[2], &m);
  auto oshape = ints(info[3]), at = ints(info[4]);
  if (shape.empty() || n == 0) return info.Env().Undefined();
  copyBox(x, shape, std::vector<int64_t>(shape.size(), 0), out, oshape, at, shape);
  return info.Env().Undefined();
}

}  // namespace

void InitCopy(Napi::Env env, Napi::Object exports) {
  exports.Set("slice", Napi::Function::New(env, Guarded<Slice>));
  exports.Set("pad", Napi::Function::New(env, Guarded<Pad>));
  exports.Set("place", Napi::Function::New(env, Guarded<Place>));
}

}  // namespace lm
