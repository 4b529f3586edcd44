// Reductions (sum, mean, max, min) over any set of axes, with double accumulators for sum/mean.
// The shape is collapsed into alternating kept/reduced groups; the common patterns [R,K], [K,R] and
// [K1,R,K2] run as cache-friendly parallel loops, anything else through a generic odometer.
#include <omp.h>

#include <cmath>
#include <limits>

#include "common.h"

namespace lm {
namespace {

enum RedOp { SUM = 0, MEAN, MAX, MIN };

struct Group {
  int64_t size;
  bool reduced;
};

template <int OP>
struct Acc {
  double v;
  Acc() : v(OP == MAX ? -std::numeric_limits<double>::infinity()
                      : OP == MIN ? std::numeric_limits<double>::infinity() : 0.0) {}
  inline void add(float x) {
    if constexpr (OP == MAX) v = (x > v || std::isnan(x)) ? x : v;
    else if constexpr (OP == MIN) v = (x < v || std::isnan(x)) ? x : v;
    else v += x;
  }
  inline void merge(const Acc& o) {
    if constexpr (OP == MAX) v = (o.v > v || std::isnan(o.v)) ? o.v : v;
    else if constexpr (OP == MIN) v = (o.v < v || std::isnan(o.v)) ? o.v : v;
    else v += o.v;
  }
};

template <int OP>
inline float finish(const Acc<OP>& a, int64_t count) {
  if constexpr (OP == MEAN) return static_cast<float>(a.v / static_cast<double>(count));
  else return static_cast<float>(a.v);
}

/** Sum of a contiguous run with 8 independent double accumulators (no serial dependency chain). */
inline double sumRun(const float* x, int64_t n) {
  double a[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) a[j] += x[i + j];
  for (; i < n; i++) a[0] += x[i];
  return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/** out[k] = reduce_r x[r*K + k] for a [R, K] block. */
template <int OP>
void reduceOuter(const float* x, float* out, int64_t R, int64_t K, int64_t count) {
  if constexpr (OP == SUM || OP == MEAN) {
    if (K == 1) {  // full reduction of a contiguous array
      const int nthr = R >= kParallelMin ? loopThreads() : 1;
      std::vector<double> part(nthr, 0.0);
#pragma omp parallel num_threads(nthr)
      {
        const int t = omp_get_thread_num();
        const int64_t r0 = R * t / nthr, r1 = R * (t + 1) / nthr;
        part[t] = sumRun(x + r0, r1 - r0);
      }
      Acc<OP> a;
      for (double p : part) a.v += p;
      out[0] = finish<OP>(a, count);
      return;
    }
  }
  const int nthr = (R * K >= kParallelMin) ? loopThreads() : 1;
  std::vector<Acc<OP>> part(static_cast<size_t>(nthr) * K);
#pragma omp parallel num_threads(nthr)
  {
    const int t = omp_get_thread_num();
    const int64_t r0 = R * t / nthr, r1 = R * (t + 1) / nthr;
    Acc<OP>* acc = part.data() + static_cast<size_t>(t) * K;
    for (int64_t r = r0; r < r1; r++) {
      const float* row = x + r * K;
      for (int64_t k = 0; k < K; k++) acc[k].add(row[k]);
    }
  }
  for (int64_t k = 0; k < K; k++) {
    Acc<OP> a = part[k];
    for (int t = 1; t < nthr; t++) a.merge(part[static_cast<size_t>(t) * K + k]);
    out[k] = finish<OP>(a, count);
  }
}

template <int OP>
void reduce(const float* x, float* out, const std::vector<Group>& g, int64_t count) {
  const size_t m = g.size();
  if (m == 1 && g[0].reduced) {
    reduceOuter<OP>(x, out, g[0].size, 1, count);
  } else if (m == 1) {
    for (int64_t i = 0; i < g[0].size; i++) out[i] = x[i];  // nothing reduced
  } else if (m == 2 && g[0].reduced) {
    reduceOuter<OP>(x, out, g[0].size, g[1].size, count);
  } else if (m == 2) {  // [K, R]
    const int64_t K = g[0].size, R = g[1].size;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (K * R >= kParallelMin)
    for (int64_t k = 0; k < K; k++) {
      Acc<OP> a;
      const float* row = x + k * R;
      if constexpr (OP == SUM || OP == MEAN) a.v = sumRun(row, R);
      else
        for (int64_t r = 0; r < R; r++) a.add(row[r]);
      out[k] = finish<OP>(a, count);
    }
  } else if (m == 3 && !g[0].reduced) {  // [K1, R, K2]
    const int64_t K1 = g[0].size, R = g[1].size, K2 = g[2].size;
#pragma omp parallel for schedule(static) num_threads(loopThreads()) if (K1 * R * K2 >= kParallelMin)
    for (int64_t k1 = 0; k1 < K1; k1++) {
      std::vector<Acc<OP>> acc(K2);
      const float* base = x + k1 * R * K2;
      for (int64_t r = 0; r < R; r++)
        for (int64_t k = 0; k < K2; k++) acc[k].add(base[r * K2 + k]);
      for (int64_t k = 0; k < K2; k++) out[k1 * K2 + k] = finish<OP>(acc[k], count);
    }
  } else {
    // Generic: walk the input in order, map each element to its output slot.
    int64_t outSize = 1;
    for (auto& d : g)
      if (!d.reduced) outSize *= d.size;
    std::vector<Acc<OP>> acc(outSize);
    std::vector<int64_t> ostride(m);
    int64_t s = 1;
    for (size_t i = m; i-- > 0;) {
      ostride[i] = g[i].reduced ? 0 : s;
      if (!g[i].reduced) s *= g[i].size;
    }
    std::vector<int64_t> idx(m, 0);
    int64_t total = 1;
    for (auto& d : g) total *= d.size;
    int64_t o = 0;
    for (int64_t i = 0; i < total; i++) {
      acc[o].add(x[i]);
      for (size_t d = m; d-- > 0;) {
        idx[d]++;
        o += ostride[d];
        if (idx[d] < g[d].size) break;
        o -= ostride[d] * g[d].size;
        idx[d] = 0;
      }
    }
    for (int64_t i = 0; i < outSize; i++) out[i] = finish<OP>(acc[i], count);
  }
}

// reduce(op, x, shape, axes, out)
Napi::Value Reduce(const Napi::CallbackInfo& info) {
  int op = info[0].As<Napi::Number>().Int32Value();
  const float* x = f32(info[1]);
  auto shape = ints(info[2]);
  auto axes = ints(info[3]);
  float* out = f32(info[4]);
  std::vector<bool> red(shape.size(), false);
  for (auto a : axes) {
    if (a < 0 || a >= static_cast<int64_t>(shape.size())) throw std::runtime_error("reduce: bad axis");
    red[a] = true;
  }
  std::vector<Group> g;
  int64_t count = 1;
  for (size_t i = 0; i < shape.size(); i++) {
    if (red[i]) count *= shape[i];
    if (shape[i] == 1) continue;
    if (!g.empty() && g.back().reduced == red[i]) g.back().size *= shape[i];
    else g.push_back({shape[i], red[i]});
  }
  if (g.empty()) g.push_back({1, false});
  switch (op) {
    case SUM: reduce<SUM>(x, out, g, count); break;
    case MEAN: reduce<MEAN>(x, out, g, count); break;
    case MAX: reduce<MAX>(x, out, g, count); break;
    case MIN: reduce<MIN>(x, out, g, count); break;
    default: throw std::runtime_error("reduce: unknown op");
  }
  return info.Env().Undefined();
}

}  // namespace

void InitReduction(Napi::Env env, Napi::Object exports) { exports.Set("reduce", Napi::Function::New(env, Guarded<Reduce>)); }

}  // namespace lm
