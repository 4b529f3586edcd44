// Returning the pages of a buffer nobody will read again to the OS at once (the buffer pool's discards), instead
// of when the garbage collector frees it.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>

#include "common.h"

namespace lm {
namespace {

// releasePages(arrayBuffer) -> bytes released. madvise(MADV_DONTNEED) on the whole pages inside the buffer: they
// leave the resident set now and read as zeros if touched again; the partial pages at either end (which may
// hold the allocator's bookkeeping) are left alone. The caller guarantees that no one reads the contents again.
Napi::Value ReleasePages(const Napi::CallbackInfo& info) {
  if (!info[0].IsArrayBuffer()) throw Napi::TypeError::New(info.Env(), "releasePages: expected an ArrayBuffer");
  auto ab = info[0].As<Napi::ArrayBuffer>();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t start = reinterpret_cast<uintptr_t>(ab.Data());
  const uintptr_t lo = (start + page - 1) & ~(page - 1), hi = (start + ab.ByteLength()) & ~(page - 1);
  if (hi <= lo || madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) != 0) return Napi::Number::New(info.Env(), 0);
  return Napi::Number::New(info.Env(), static_cast<double>(hi - lo));
}

}  // namespace

void InitMemory(Napi::Env env, Napi::Object exports) { exports.Set("releasePages", Napi::Function::New(env, Guarded<ReleasePages>)); }

}  // namespace lm
