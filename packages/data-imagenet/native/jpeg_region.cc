#include "jpeg_region.h"

#include <csetjmp>
#include <cstdio>
#include <memory>
#include <jpeglib.h>

#include "resample.h"

#define LM_STR2(x) #x
#define LM_STR(x) LM_STR2(x)

namespace lmjpeg {

namespace {

struct ErrorManager {
  jpeg_error_mgr pub;
  jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  bool warned;
};

void onError(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  longjmp(err->jump, 1);
}

void onMessage(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorManager*>(cinfo->err);
  if (level < 0 && !err->warned) {  // a warning: corrupt or truncated data
    err->warned = true;
    (*cinfo->err->format_message)(cinfo, err->message);
  }
}

// A file cut short loses its end-of-image marker (FF D9); such files go to the general decoder,
// which applies the caller's failOn policy even when the crop ends above the missing part.
bool endsWithEoi(const uint8_t* data, size_t size) {
  size_t n = size;
  while (n > 2 && data[n - 1] != 0xD9 && size - n < 64) n--;
  return n >= 2 && data[n - 2] == 0xFF && data[n - 1] == 0xD9;
}

// The rows and columns of the (IDCT-scaled) image the resampler reads, decoded into `region`.
struct Decoded {
  AxisTaps x, y;
  int colOrigin = 0;
  int stride = 0;
};

// libjpeg reports errors by longjmp, so this frame holds no C++ object that owns memory; the
// caller owns the buffers. Returns false with `why` set when the image is left to the general decoder.
bool decodeRows(const uint8_t* data, size_t size, const RegionRequest& req, std::unique_ptr<uint8_t[]>* region, Decoded* out, std::string* why) {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = onError;
  err.pub.emit_message = onMessage;
  err.warned = false;
  err.message[0] = 0;
  if (setjmp(err.jump)) {
    jpeg_destroy_decompress(&cinfo);
    *why = err.message;
    return false;
  }
  jpeg_create_decompress(&cinfo);
  jpeg_mem_src(&cinfo, const_cast<unsigned char*>(data), static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  const bool colour = cinfo.num_components == 3 && (cinfo.jpeg_color_space == JCS_YCbCr || cinfo.jpeg_color_space == JCS_RGB);
  const bool grey = cinfo.num_components == 1 && cinfo.jpeg_color_space == JCS_GRAYSCALE;
  if (!colour && !grey) {
    jpeg_destroy_decompress(&cinfo);
    *why = "colour space is not YCbCr, RGB or grey (CMYK?)";
    return false;
  }
  if (req.x < 0 || req.y < 0 || req.x + req.width > cinfo.image_width + 1e-6 || req.y + req.height > cinfo.image_height + 1e-6) {
    jpeg_destroy_decompress(&cinfo);
    *why = "box outside the image";
    return false;
  }
  cinfo.out_color_space = JCS_RGB;
  int shrink = 1;
  if (req.shrinkOnLoad) {
    while (shrink < 8 && req.width / (shrink * 2) >= req.outWidth && req.height / (shrink * 2) >= req.outHeight) shrink *= 2;
  }
  cinfo.scale_num = 1;
  cinfo.scale_denom = static_cast<unsigned int>(shrink);
  jpeg_calc_output_dimensions(&cinfo);
  // scaled pixel i covers full-size pixels [i * shrink, (i + 1) * shrink)
  out->x = axisTaps(req.x / shrink, req.width / shrink, req.outWidth, static_cast<int>(cinfo.output_width));
  out->y = axisTaps(req.y / shrink, req.height / shrink, req.outHeight, static_cast<int>(cinfo.output_height));

  jpeg_start_decompress(&cinfo);
  JDIMENSION colOrigin = static_cast<JDIMENSION>(out->x.lo);
  JDIMENSION cols = static_cast<JDIMENSION>(out->x.hi - out->x.lo);
  if (cols < cinfo.output_width) {
    jpeg_crop_scanline(&cinfo, &colOrigin, &cols);  // widens the window to iMCU boundaries
  } else {
    colOrigin = 0;
    cols = cinfo.output_width;
  }
  out->colOrigin = static_cast<int>(colOrigin);
  out->stride = static_cast<int>(cols) * 3;
  const int top = out->y.lo;
  const int rows = out->y.hi - top;
  region->reset(new uint8_t[static_cast<size_t>(rows) * out->stride]);
  if (top > 0) jpeg_skip_scanlines(&cinfo, static_cast<JDIMENSION>(top));
  while (static_cast<int>(cinfo.output_scanline) < out->y.hi) {
    JSAMPROW lines[4];
    const int at = static_cast<int>(cinfo.output_scanline) - top;
    const int n = rows - at < 4 ? rows - at : 4;
    for (int k = 0; k < n; k++) lines[k] = region->get() + static_cast<size_t>(at + k) * out->stride;
    jpeg_read_scanlines(&cinfo, lines, static_cast<JDIMENSION>(n));
  }
  jpeg_abort_decompress(&cinfo);  // rows below the box are never decoded
  jpeg_destroy_decompress(&cinfo);
  if (err.warned) {
    *why = err.message;
    return false;
  }
  return true;
}

}  // namespace

const char* libjpegTurboVersion() {
#ifdef LIBJPEG_TURBO_VERSION
  return LM_STR(LIBJPEG_TURBO_VERSION);
#else
  return "unknown";
#endif
}

RegionResult decodeJpegRegion(const uint8_t* data, size_t size, const RegionRequest& req) {
  RegionResult result;
  if (size < 4 || data[0] != 0xFF || data[1] != 0xD8 || data[2] != 0xFF) {
    result.reason = "not a JPEG";
  } else if (!endsWithEoi(data, size)) {
    result.reason = "no end-of-image marker (truncated?)";
  } else if (req.outWidth <= 0 || req.outHeight <= 0 || !(req.width > 0) || !(req.height > 0)) {
    result.reason = "empty box";
  } else {
    std::unique_ptr<uint8_t[]> region;
    Decoded d;
    if (decodeRows(data, size, req, &region, &d, &result.reason)) {
      result.rgb.resize(static_cast<size_t>(req.outWidth) * req.outHeight * 3);
      resampleRgb(region.get(), d.stride, d.colOrigin, d.y.lo, d.x, d.y, result.rgb.data());
      result.ok = true;
    }
  }
  return result;
}

}  // namespace lmjpeg
