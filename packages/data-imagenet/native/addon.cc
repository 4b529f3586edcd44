// N-API entry: decodeRegion runs on libuv's thread pool, so several images decode at once.
#include <napi.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "jpeg_region.h"

namespace {

bool readWholeFile(const std::string& path, std::vector<uint8_t>* out, std::string* error) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) {
    *error = std::strerror(errno);
    return false;
  }
  uint8_t chunk[1 << 16];
  size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, f)) > 0) out->insert(out->end(), chunk, chunk + n);
  const bool failed = std::ferror(f) != 0;
  if (failed) *error = std::strerror(errno);
  std::fclose(f);
  return !failed;
}

// Where a decoded tile goes when the caller wants it normalised in place: dst[offset ..] as float32
// HWC, each byte v of channel c written as lut[c * 256 + v], mirrored left-right when `flip`.
struct Target {
  float* dst = nullptr;
  const float* lut = nullptr;
  bool flip = false;
};

void writeNormalised(const uint8_t* rgb, int width, int height, const Target& t) {
  const float* r = t.lut;
  const float* g = t.lut + 256;
  const float* b = t.lut + 512;
  for (int y = 0; y < height; y++) {
    const uint8_t* s = rgb + static_cast<size_t>(y) * width * 3;
    float* d = t.dst + static_cast<size_t>(y) * width * 3;
    for (int x = 0; x < width; x++) {
      float* o = d + 3 * static_cast<size_t>(t.flip ? width - 1 - x : x);
      o[0] = r[s[3 * x]];
      o[1] = g[s[3 * x + 1]];
      o[2] = b[s[3 * x + 2]];
    }
  }
}

class DecodeWorker : public Napi::AsyncWorker {
 public:
  DecodeWorker(Napi::Env env, std::string path, Napi::Reference<Napi::Uint8Array> bytes, const uint8_t* data, size_t size, lmjpeg::RegionRequest req)
      : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), path_(std::move(path)), bytes_(std::move(bytes)), data_(data), size_(size), req_(req) {}

  // Keeps the destination and the lookup table alive until the decode has written them.
  void SetTarget(Napi::Float32Array dst, size_t offset, Napi::Float32Array lut, bool flip) {
    target_.dst = dst.Data() + offset;
    target_.lut = lut.Data();
    target_.flip = flip;
    dstRef_ = Napi::Persistent(dst);
    lutRef_ = Napi::Persistent(lut);
  }

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    if (!data_) {
      std::string error;
      if (!readWholeFile(path_, &file_, &error)) {
        SetError("cannot read " + path_ + ": " + error);
        return;
      }
      data_ = file_.data();
      size_ = file_.size();
    }
    result_ = lmjpeg::decodeJpegRegion(data_, size_, req_);
    if (result_.ok && target_.dst) writeNormalised(result_.rgb.data(), req_.outWidth, req_.outHeight, target_);
  }

  void OnOK() override {
    Napi::Env env = Env();
    if (!result_.ok) {
      deferred_.Resolve(Napi::String::New(env, result_.reason));
      return;
    }
    if (target_.dst) {
      deferred_.Resolve(Napi::Boolean::New(env, true));
      return;
    }
    auto* rgb = new std::vector<uint8_t>(std::move(result_.rgb));
    auto buf = Napi::Buffer<uint8_t>::New(env, rgb->data(), rgb->size(), [](Napi::Env, uint8_t*, std::vector<uint8_t>* v) { delete v; }, rgb);
    deferred_.Resolve(buf);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string path_;
  Napi::Reference<Napi::Uint8Array> bytes_;  // keeps caller-owned bytes alive while decoding
  const uint8_t* data_;
  size_t size_;
  std::vector<uint8_t> file_;
  lmjpeg::RegionRequest req_;
  lmjpeg::RegionResult result_;
  Target target_;
  Napi::Reference<Napi::Float32Array> dstRef_;
  Napi::Reference<Napi::Float32Array> lutRef_;
};

// decodeRegion(source: string | Uint8Array, box: number[4], outWidth, outHeight, shrinkOnLoad,
//              target?: { data: Float32Array, offset: number, lut: Float32Array(768), flip: boolean })
//   -> Promise<Buffer (RGB, outHeight x outWidth x 3) | true (written into target) | string (why the
//      image is left to sharp)>
Napi::Value DecodeRegion(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 5 || !info[1].IsArray() || !info[2].IsNumber() || !info[3].IsNumber() || !info[4].IsBoolean()) {
    throw Napi::TypeError::New(env, "decodeRegion(source, [x, y, width, height], outWidth, outHeight, shrinkOnLoad)");
  }
  auto box = info[1].As<Napi::Array>();
  if (box.Length() != 4) throw Napi::TypeError::New(env, "decodeRegion: box must be [x, y, width, height]");
  lmjpeg::RegionRequest req;
  req.x = box.Get(0u).As<Napi::Number>().DoubleValue();
  req.y = box.Get(1u).As<Napi::Number>().DoubleValue();
  req.width = box.Get(2u).As<Napi::Number>().DoubleValue();
  req.height = box.Get(3u).As<Napi::Number>().DoubleValue();
  req.outWidth = info[2].As<Napi::Number>().Int32Value();
  req.outHeight = info[3].As<Napi::Number>().Int32Value();
  req.shrinkOnLoad = info[4].As<Napi::Boolean>().Value();
  DecodeWorker* worker;
  if (info[0].IsString()) {
    worker = new DecodeWorker(env, info[0].As<Napi::String>().Utf8Value(), Napi::Reference<Napi::Uint8Array>(), nullptr, 0, req);
  } else if (info[0].IsTypedArray() && info[0].As<Napi::TypedArray>().TypedArrayType() == napi_uint8_array) {
    auto bytes = info[0].As<Napi::Uint8Array>();
    worker = new DecodeWorker(env, "", Napi::Persistent(bytes), bytes.Data(), bytes.ByteLength(), req);
  } else {
    throw Napi::TypeError::New(env, "decodeRegion: source must be a file path or a Uint8Array");
  }
  if (info.Length() > 5 && !info[5].IsUndefined()) {
    if (!info[5].IsObject()) {
      delete worker;
      throw Napi::TypeError::New(env, "decodeRegion: target must be { data, offset, lut, flip }");
    }
    auto t = info[5].As<Napi::Object>();
    const Napi::Value data = t.Get("data"), offset = t.Get("offset"), lut = t.Get("lut"), flip = t.Get("flip");
    const bool typed = data.IsTypedArray() && data.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array && lut.IsTypedArray() &&
                       lut.As<Napi::TypedArray>().TypedArrayType() == napi_float32_array && offset.IsNumber() && flip.IsBoolean();
    const double at = typed ? offset.As<Napi::Number>().DoubleValue() : -1;
    const double need = static_cast<double>(req.outWidth) * req.outHeight * 3;
    if (!typed || at < 0 || at != static_cast<double>(static_cast<size_t>(at)) || at + need > data.As<Napi::Float32Array>().ElementLength() ||
        lut.As<Napi::Float32Array>().ElementLength() < 768) {
      delete worker;
      throw Napi::RangeError::New(env, "decodeRegion: target needs a Float32Array data with room for outWidth x outHeight x 3 floats at offset, a 768-entry Float32Array lut and a boolean flip");
    }
    worker->SetTarget(data.As<Napi::Float32Array>(), static_cast<size_t>(at), lut.As<Napi::Float32Array>(), flip.As<Napi::Boolean>().Value());
  }
  Napi::Promise promise = worker->Promise();
  worker->Queue();
  return promise;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("decodeRegion", Napi::Function::New(env, DecodeRegion));
  exports.Set("libjpegTurbo", Napi::String::New(env, lmjpeg::libjpegTurboVersion()));
  return exports;
}

}  // namespace

NODE_API_MODULE(lmjpeg, Init)
