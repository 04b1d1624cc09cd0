#include "kernels/cpu/gqa.h"

#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include "kernels/cpu/cpu_features.h"

namespace glm::kernels {
namespace {

// K<G>::run(a...) for the runtime head count (1..kGqaHeads), so each count runs fully unrolled code.
template <template <int> class K, class... A>
void by_heads(int heads, A... a) {
  switch (heads) {
    case 1: K<1>::run(a...); break;
    case 2: K<2>::run(a...); break;
    case 3: K<3>::run(a...); break;
    default: K<4>::run(a...); break;
  }
}

// ---- scalar -------------------------------------------------------------------------------------------------

template <int G>
struct ScoresScalar {
  static void run(const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t n, int d, float scale, float* s,
                  int64_t lds) {
    for (int g = 0; g < G; ++g)
      for (int64_t t = 0; t < n; ++t) {
        float acc[4] = {0, 0, 0, 0};
        int c = 0;
        for (; c + 4 <= d; c += 4)
          for (int j = 0; j < 4; ++j) acc[j] += q[g * ldq + c + j] * k[t * ldk + c + j];
        float sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (; c < d; ++c) sum += q[g * ldq + c] * k[t * ldk + c];
        s[g * lds + t] = sum * scale;
      }
  }
};

template <int G>
struct ValuesScalar {
  static void run(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, int d, float* o, int64_t ldo) {
    for (int g = 0; g < G; ++g) {
      for (int c = 0; c < d; ++c) o[g * ldo + c] = 0;
      for (int64_t t = 0; t < n; ++t)
        for (int c = 0; c < d; ++c) o[g * ldo + c] += p[g * ldp + t] * v[t * ldv + c];
    }
  }
};

// ---- AVX2 ---------------------------------------------------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx2,fma")

// [Σa, Σb, Σc, Σd] by one fixed tree per vector (each sum reads only its own vector's lanes).
inline __m128 reduce4_avx2(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(a, b), _mm256_hadd_ps(c, d));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

struct Avx2 {
  static constexpr int kLanes = 8, kTile = 2, kPass = 2;

  // T positions × G heads of scores over the first dv (a multiple of kLanes) dims, as reduced sums sums[g][u].
  template <int G, int T>
  static void score_tile(const float* q, int64_t ldq, const float* k, int64_t ldk, int dv, float sums[G][4]) {
    __m256 acc[G][T];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int u = 0; u < T; ++u) acc[g][u] = _mm256_setzero_ps();
    for (int c = 0; c < dv; c += 8) {
      __m256 kv[T];
#pragma GCC unroll 8
      for (int u = 0; u < T; ++u) kv[u] = _mm256_loadu_ps(k + u * ldk + c);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256 qv = _mm256_loadu_ps(q + g * ldq + c);
#pragma GCC unroll 8
        for (int u = 0; u < T; ++u) acc[g][u] = _mm256_fmadd_ps(qv, kv[u], acc[g][u]);
      }
    }
    const __m256 z = _mm256_setzero_ps();
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      if constexpr (T == 2) _mm_storeu_ps(sums[g], reduce4_avx2(acc[g][0], acc[g][1], z, z));
      else _mm_storeu_ps(sums[g], reduce4_avx2(acc[g][0], z, z, z));
    }
  }

  // o[g][0 .. C·kLanes) for G heads over all n positions.
  template <int G, int C>
  static void value_pass(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* o, int64_t ldo) {
    __m256 acc[G][C];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) acc[g][i] = _mm256_setzero_ps();
    for (int64_t t = 0; t < n; ++t) {
      __m256 vv[C];
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) vv[i] = _mm256_loadu_ps(v + t * ldv + 8 * i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m256 pb = _mm256_broadcast_ss(p + g * ldp + t);
#pragma GCC unroll 8
        for (int i = 0; i < C; ++i) acc[g][i] = _mm256_fmadd_ps(pb, vv[i], acc[g][i]);
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) _mm256_storeu_ps(o + g * ldo + 8 * i, acc[g][i]);
  }
};

#pragma GCC pop_options

// ---- AVX-512 ------------------------------------------------------------------------------------------------
#pragma GCC push_options
#pragma GCC target("avx512f,avx2,fma")

// Lane i + lane i + 8.
inline __m256 fold512(__m512 x) {
  return _mm256_add_ps(_mm512_castps512_ps256(x), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

// As reduce4_avx2 after folding each vector's halves.
inline __m128 reduce4_avx512(__m512 a, __m512 b, __m512 c, __m512 d) {
  const __m256 h = _mm256_hadd_ps(_mm256_hadd_ps(fold512(a), fold512(b)), _mm256_hadd_ps(fold512(c), fold512(d)));
  return _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
}

struct Avx512 {
  static constexpr int kLanes = 16, kTile = 4, kPass = 4;

  // As Avx2's (score_tile, value_pass), 16 lanes.
  template <int G, int T>
  static void score_tile(const float* q, int64_t ldq, const float* k, int64_t ldk, int dv, float sums[G][4]) {
    __m512 acc[G][T];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int u = 0; u < T; ++u) acc[g][u] = _mm512_setzero_ps();
    for (int c = 0; c < dv; c += 16) {
      __m512 kv[T];
#pragma GCC unroll 8
      for (int u = 0; u < T; ++u) kv[u] = _mm512_loadu_ps(k + u * ldk + c);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512 qv = _mm512_loadu_ps(q + g * ldq + c);
#pragma GCC unroll 8
        for (int u = 0; u < T; ++u) acc[g][u] = _mm512_fmadd_ps(qv, kv[u], acc[g][u]);
      }
    }
    const __m512 z = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      if constexpr (T == 4) _mm_storeu_ps(sums[g], reduce4_avx512(acc[g][0], acc[g][1], acc[g][2], acc[g][3]));
      else _mm_storeu_ps(sums[g], reduce4_avx512(acc[g][0], z, z, z));
    }
  }

  template <int G, int C>
  static void value_pass(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, float* o, int64_t ldo) {
    __m512 acc[G][C];
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) acc[g][i] = _mm512_setzero_ps();
    for (int64_t t = 0; t < n; ++t) {
      __m512 vv[C];
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) vv[i] = _mm512_loadu_ps(v + t * ldv + 16 * i);
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) {
        const __m512 pb = _mm512_set1_ps(p[g * ldp + t]);
#pragma GCC unroll 8
        for (int i = 0; i < C; ++i) acc[g][i] = _mm512_fmadd_ps(pb, vv[i], acc[g][i]);
      }
    }
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g)
#pragma GCC unroll 8
      for (int i = 0; i < C; ++i) _mm512_storeu_ps(o + g * ldo + 16 * i, acc[g][i]);
  }
};

#pragma GCC pop_options

// ---- the drivers over an ISA's tiles (I: kLanes floats per vector, kTile positions per score tile, kPass vectors
// per values pass); the dims past the last full vector in scalar code --------------------------------------------

template <class I, int G>
struct Scores {
  static void run(const float* q, int64_t ldq, const float* k, int64_t ldk, int64_t n, int d, float scale, float* s,
                  int64_t lds) {
    const int dv = d / I::kLanes * I::kLanes;
    float sums[G][4];
    for (int64_t t = 0; t < n;) {
      const int T = n - t >= I::kTile ? I::kTile : 1;
      if (T == I::kTile) I::template score_tile<G, I::kTile>(q, ldq, k + t * ldk, ldk, dv, sums);
      else I::template score_tile<G, 1>(q, ldq, k + t * ldk, ldk, dv, sums);
      for (int g = 0; g < G; ++g)
        for (int u = 0; u < T; ++u) {
          float sum = sums[g][u];
          for (int c = dv; c < d; ++c) sum += q[g * ldq + c] * k[(t + u) * ldk + c];
          s[g * lds + t + u] = sum * scale;
        }
      t += T;
    }
  }
};

template <class I, int G>
struct Values {
  static void run(const float* p, int64_t ldp, const float* v, int64_t ldv, int64_t n, int d, float* o, int64_t ldo) {
    constexpr int kWide = I::kPass * I::kLanes;
    int c = 0;
    for (; c + kWide <= d; c += kWide) I::template value_pass<G, I::kPass>(p, ldp, v + c, ldv, n, o + c, ldo);
    for (; c + I::kLanes <= d; c += I::kLanes) I::template value_pass<G, 1>(p, ldp, v + c, ldv, n, o + c, ldo);
    if (c < d) ValuesScalar<G>::run(p, ldp, v + c, ldv, n, d - c, o + c, ldo);
  }
};

template <int G> using ScoresAvx2 = Scores<Avx2, G>;
template <int G> using ScoresAvx512 = Scores<Avx512, G>;
template <int G> using ValuesAvx2 = Values<Avx2, G>;
template <int G> using ValuesAvx512 = Values<Avx512, G>;

}  // namespace

void gqa_scores(const float* q, int64_t ldq, int heads, const float* k, int64_t ldk, int64_t n, int d, float scale,
                float* s, int64_t lds, Isa level) {
  switch (level) {
    case Isa::avx512: return by_heads<ScoresAvx512>(heads, q, ldq, k, ldk, n, d, scale, s, lds);
    case Isa::avx2: return by_heads<ScoresAvx2>(heads, q, ldq, k, ldk, n, d, scale, s, lds);
    case Isa::scalar: return by_heads<ScoresScalar>(heads, q, ldq, k, ldk, n, d, scale, s, lds);
  }
}

void gqa_values(const float* p, int64_t ldp, int heads, const float* v, int64_t ldv, int64_t n, int d, float* o,
                int64_t ldo, Isa level) {
  switch (level) {
    case Isa::avx512: return by_heads<ValuesAvx512>(heads, p, ldp, v, ldv, n, d, o, ldo);
    case Isa::avx2: return by_heads<ValuesAvx2>(heads, p, ldp, v, ldv, n, d, o, ldo);
    case Isa::scalar: return by_heads<ValuesScalar>(heads, p, ldp, v, ldv, n, d, o, ldo);
  }
}

}  // namespace glm::kernels
