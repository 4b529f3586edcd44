// Module entry: registers the functions of every kernel family.
#include "common.h"

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  lm::InitEngine(env, exports);
  lm::InitConv(env, exports);
  lm::InitMatmul(env, exports);
  lm::InitBatchNorm(env, exports);
  lm::InitPooling(env, exports);
  lm::InitElementwise(env, exports);
  lm::InitReduction(env, exports);
  lm::InitCopy(env, exports);
  lm::InitOptim(env, exports);
  lm::InitLmStep(env, exports);
  lm::InitMemory(env, exports);
  lm::InitLayout(env, exports);
  return exports;
}

NODE_API_MODULE(onednn, Init)
