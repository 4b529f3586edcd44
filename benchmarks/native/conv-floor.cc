// The floor of ResNet-20's convolutions (batch N, CIFAR shapes) on oneDNN, called directly: the primitives the
// onednn backend uses (nhwc data, `any` weights reordered from HWIO, direct algorithm), created once and executed
// `reps` times; the minimum per call is printed as one JSON line per (shape, direction). With `blocked`, the
// same convolutions on oneDNN's preferred blocked layouts without any reorder: what NHWC costs.
// usage: conv-floor <batch> <reps> [blocked]
#include <oneapi/dnnl/dnnl.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

static engine eng(engine::kind::cpu, 0);
static stream strm(eng);

static double nowMs() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

static void fill(memory& m) {
  float* p = static_cast<float*>(m.get_data_handle());
  const size_t n = m.get_desc().get_size() / sizeof(float);
  for (size_t i = 0; i < n; i++) p[i] = static_cast<float>(i % 17) * 0.01f - 0.08f;
}

template <class F>
static double best(F run, int reps) {
  run();  // first call: JIT and page faults
  double b = 1e30;
  for (int i = 0; i < reps; i++) {
    const double t0 = nowMs();
    run();
    strm.wait();
    const double t = nowMs() - t0;
    if (t < b) b = t;
  }
  return b;
}

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 128;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  const bool blocked = argc > 3 && std::strcmp(argv[3], "blocked") == 0;
  // in channels, size, out channels, stride (3x3, 'same' padding as tfjs computes it)
  const int shapes[][4] = {{3, 32, 16, 1}, {16, 32, 16, 1}, {16, 32, 32, 2}, {32, 16, 32, 1}, {32, 16, 64, 2}, {64, 8, 64, 1}};
  for (const auto& s : shapes) {
    const int c = s[0], h = s[1], oc = s[2], st = s[3], oh = (h + st - 1) / st;
    const int total = std::max(0, (oh - 1) * st + 3 - h), pt = total / 2, pb = total - pt;
    const memory::dims src{n, c, h, h}, dst{n, oc, oh, oh}, wd{oc, c, 3, 3}, strides{st, st}, dil{0, 0}, pl{pt, pt}, pr{pb, pb};
    const tag act = blocked ? tag::any : tag::nhwc;
    const memory::desc srcd(src, dt::f32, act), dstd(dst, dt::f32, act), wany(wd, dt::f32, tag::any), user(wd, dt::f32, tag::hwio);
    convolution_forward::primitive_desc fpd({prop_kind::forward_training, algorithm::convolution_direct, srcd, wany, dstd, strides, dil, pl, pr}, eng);
    convolution_backward_data::primitive_desc dpd({algorithm::convolution_direct, srcd, wany, dstd, strides, dil, pl, pr}, eng, fpd);
    convolution_backward_weights::primitive_desc wpd({algorithm::convolution_direct, srcd, wany, dstd, strides, dil, pl, pr}, eng, fpd);
    memory x(fpd.src_desc(), eng), y(fpd.dst_desc(), eng), dx(dpd.diff_src_desc(), eng), dy(dpd.diff_dst_desc(), eng);
    memory uw(user, eng), udw(user, eng), wf(fpd.weights_desc(), eng), wdd(dpd.weights_desc(), eng), dw(wpd.diff_weights_desc(), eng);
    for (memory* m : {&x, &y, &dx, &dy, &uw, &udw, &wf, &wdd, &dw}) fill(*m);
    convolution_forward fwd(fpd);
    convolution_backward_data bwdData(dpd);
    convolution_backward_weights bwdWeights(wpd);
    reorder toF(uw, wf), toD(uw, wdd), fromW(dw, udw);
    const bool rf = fpd.weights_desc() != user, rd = dpd.weights_desc() != user, rw = wpd.diff_weights_desc() != user;
    const double f = best([&] {
      if (rf) toF.execute(strm, uw, wf);
      fwd.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_WEIGHTS, rf ? wf : uw}, {DNNL_ARG_DST, y}});
    }, reps);
    const double d = best([&] {
      if (rd) toD.execute(strm, uw, wdd);
      bwdData.execute(strm, {{DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_WEIGHTS, rd ? wdd : uw}, {DNNL_ARG_DIFF_SRC, dx}});
    }, reps);
    const double w = best([&] {
      bwdWeights.execute(strm, {{DNNL_ARG_SRC, x}, {DNNL_ARG_DIFF_DST, dy}, {DNNL_ARG_DIFF_WEIGHTS, rw ? dw : udw}});
      if (rw) fromW.execute(strm, dw, udw);
    }, reps);
    std::printf("{\"c\":%d,\"h\":%d,\"oc\":%d,\"stride\":%d,\"forward\":%.4f,\"backprop_input\":%.4f,\"backprop_filter\":%.4f,\"impl\":\"%s\"}\n",
                c, h, oc, st, f, d, w, fpd.impl_info_str());
  }
  return 0;
}
