#include "SymmetricKernels.h"
#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__linux__)
#define MULTIVERSION __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define MULTIVERSION
#endif

#define DEFINE_KERNELS(T, S)                                                                   \
MULTIVERSION void sdk_relu_##S(T *restrict y, ptrdiff_t n) {                                  \
    for (ptrdiff_t i = 0; i < n; i++) y[i] = y[i] > 0 ? y[i] : 0;                              \
}                                                                                              \
MULTIVERSION void sdk_relu_backward_##S(T *restrict d, const T *restrict y, ptrdiff_t n) {   \
    for (ptrdiff_t i = 0; i < n; i++) d[i] = y[i] > 0 ? d[i] : 0;                              \
}                                                                                              \
void sdk_fill_rows_##S(T *restrict y, const T *restrict b, ptrdiff_t rows, ptrdiff_t cols) {  \
    for (ptrdiff_t r = 0; r < rows; r++) memcpy(y + r * cols, b, sizeof(T) * (size_t)cols);    \
}                                                                                              \
MULTIVERSION void sdk_column_sums_##S(T *restrict acc, const T *restrict d, ptrdiff_t rows,   \
                                      ptrdiff_t cols) {                                        \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                     \
        const T *row = d + r * cols;                                                           \
        for (ptrdiff_t c = 0; c < cols; c++) acc[c] += row[c];                                 \
    }                                                                                          \
}                                                                                              \
MULTIVERSION void sdk_add_##S(T *restrict y, const T *restrict x, ptrdiff_t n) {              \
    for (ptrdiff_t i = 0; i < n; i++) y[i] += x[i];                                            \
}                                                                                              \
MULTIVERSION void sdk_thin_affine_##S(T *restrict y, const T *restrict a, const T *restrict wt, \
                                      ptrdiff_t rows, ptrdiff_t in, ptrdiff_t out) {           \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                     \
        T *yr = y + r * out;                                                                   \
        for (ptrdiff_t k = 0; k < in; k++) {                                                   \
            const T v = a[r * in + k], *w = wt + k * out;                                      \
            for (ptrdiff_t o = 0; o < out; o++) yr[o] += v * w[o];                             \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
MULTIVERSION void sdk_thin_affine_backward_##S(T *restrict t, const T *restrict d,            \
                                               const T *restrict wt, ptrdiff_t rows,           \
                                               ptrdiff_t in, ptrdiff_t out) {                  \
    for (ptrdiff_t r = 0; r < rows; r++) {                                                     \
        const T *dr = d + r * out;                                                             \
        for (ptrdiff_t k = 0; k < in; k++) {                                                   \
            const T *w = wt + k * out;                                                         \
            T acc[16] = {0};   /* independent partial sums: vectorises without reassociation */ \
            ptrdiff_t o = 0;                                                                   \
            for (; o + 16 <= out; o += 16)                                                     \
                for (int j = 0; j < 16; j++) acc[j] += dr[o + j] * w[o + j];                   \
            T s = 0;                                                                           \
            for (; o < out; o++) s += dr[o] * w[o];                                            \
            for (int j = 0; j < 16; j++) s += acc[j];                                          \
            t[r * in + k] = s;                                                                 \
        }                                                                                      \
    }                                                                                          \
}                                                                                              \
void sdk_pool_rows_##S(T *restrict sums, const T *restrict x, ptrdiff_t rows, ptrdiff_t cols,  \
                       ptrdiff_t first, ptrdiff_t set_size) {                                  \
    for (ptrdiff_t i = 0; i < rows; i++) {                                                     \
        T *dst = sums + ((first + i) / set_size) * cols;                                       \
        const T *src = x + i * cols;                                                           \
        for (ptrdiff_t c = 0; c < cols; c++) dst[c] += src[c];                                 \
    }                                                                                          \
}                                                                                              \
void sdk_unpool_rows_##S(T *restrict x, const T *restrict g, ptrdiff_t rows, ptrdiff_t cols,   \
                         ptrdiff_t first, ptrdiff_t set_size, T scale) {                       \
    for (ptrdiff_t i = 0; i < rows; i++) {                                                     \
        const T *src = g + ((first + i) / set_size) * cols;                                    \
        T *dst = x + i * cols;                                                                 \
        for (ptrdiff_t c = 0; c < cols; c++) dst[c] = scale * src[c];                          \
    }                                                                                          \
}                                                                                              \
MULTIVERSION void sdk_adam_##S(T *restrict p, T *restrict m, T *restrict v,                   \
                               const T *restrict g, ptrdiff_t n, T b1, T b2, T step,           \
                               T sqrt_bc2, T eps) {                                            \
    for (ptrdiff_t i = 0; i < n; i++) {                                                        \
        T gi = g[i];                                                                           \
        T mi = b1 * m[i] + (1 - b1) * gi;                                                      \
        T vi = b2 * v[i] + (1 - b2) * gi * gi;                                                 \
        m[i] = mi; v[i] = vi;                                                                  \
        p[i] -= step * mi / (SQRT_##S(vi) / sqrt_bc2 + eps);                                   \
    }                                                                                          \
}

#define SQRT_f32 sqrtf
#define SQRT_f64 sqrt
DEFINE_KERNELS(float, f32)
DEFINE_KERNELS(double, f64)
