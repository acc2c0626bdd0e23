#ifndef SYMMETRIC_KERNELS_H
#define SYMMETRIC_KERNELS_H
/* Elementwise kernels on the hot path of a training step, written in C so that they vectorise,
 * and compiled for several instruction sets (AVX-512, AVX2, baseline) with the best one picked
 * at load time. Matrix products stay in BLAS; these are the passes between them. */
#include <stddef.h>

/* y <- max(y, 0) */
void sdk_relu_f32(float *y, ptrdiff_t n);
void sdk_relu_f64(double *y, ptrdiff_t n);
/* d <- (y > 0) ? d : 0   (ReLU backward, from the output y) */
void sdk_relu_backward_f32(float *d, const float *y, ptrdiff_t n);
void sdk_relu_backward_f64(double *d, const double *y, ptrdiff_t n);
/* y[r, :] <- b for every row r of a [rows, cols] matrix */
void sdk_fill_rows_f32(float *y, const float *b, ptrdiff_t rows, ptrdiff_t cols);
void sdk_fill_rows_f64(double *y, const double *b, ptrdiff_t rows, ptrdiff_t cols);
/* acc[c] += sum_r d[r, c]   (bias gradient) */
void sdk_column_sums_f32(float *acc, const float *d, ptrdiff_t rows, ptrdiff_t cols);
void sdk_column_sums_f64(double *acc, const double *d, ptrdiff_t rows, ptrdiff_t cols);
/* y <- y + x */
void sdk_add_f32(float *y, const float *x, ptrdiff_t n);
void sdk_add_f64(double *y, const double *x, ptrdiff_t n);
/* y[r, o] += sum_k a[r, k] * wt[k, o] for r < rows, k < in, o < out (a thin affine map,
 * K = in small, with the weight given transposed as wt[in, out]) */
void sdk_thin_affine_f32(float *y, const float *a, const float *wt, ptrdiff_t rows, ptrdiff_t in, ptrdiff_t out);
void sdk_thin_affine_f64(double *y, const double *a, const double *wt, ptrdiff_t rows, ptrdiff_t in, ptrdiff_t out);
/* t[r, k] = sum_o d[r, o] * wt[k, o] for k < in small (input gradient of a thin layer; the weight
 * given transposed as wt[in, out]) */
void sdk_thin_affine_backward_f32(float *t, const float *d, const float *w, ptrdiff_t rows, ptrdiff_t in, ptrdiff_t out);
void sdk_thin_affine_backward_f64(double *t, const double *d, const double *w, ptrdiff_t rows, ptrdiff_t in, ptrdiff_t out);
/* sums[s, c] += x[i, c] with s = (first + i) / set_size: rows of consecutive sets pooled by set */
void sdk_pool_rows_f32(float *sums, const float *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t first, ptrdiff_t set_size);
void sdk_pool_rows_f64(double *sums, const double *x, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t first, ptrdiff_t set_size);
/* x[i, c] = scale * g[s, c] with s = (first + i) / set_size: the gradient of mean pooling */
void sdk_unpool_rows_f32(float *x, const float *g, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t first, ptrdiff_t set_size, float scale);
void sdk_unpool_rows_f64(double *x, const double *g, ptrdiff_t rows, ptrdiff_t cols, ptrdiff_t first, ptrdiff_t set_size, double scale);
/* Adam step (PyTorch semantics): m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2;
 * p <- p - step * m / (sqrt(v) / sqrt_bc2 + eps) */
void sdk_adam_f32(float *p, float *m, float *v, const float *g, ptrdiff_t n,
                  float b1, float b2, float step, float sqrt_bc2, float eps);
void sdk_adam_f64(double *p, double *m, double *v, const double *g, ptrdiff_t n,
                  double b1, double b2, double step, double sqrt_bc2, double eps);
#endif
