#ifndef SYMMETRICDP_CBLAS_SHIM_H
#define SYMMETRICDP_CBLAS_SHIM_H
#include <cblas.h>
#include <malloc.h>

/* LAPACK routines bundled in libopenblas (Fortran calling convention). */
void dgesv_(const int *n, const int *nrhs, double *a, const int *lda, int *ipiv,
            double *b, const int *ldb, int *info);
void dgetrf_(const int *m, const int *n, double *a, const int *lda, int *ipiv, int *info);
void dgetrs_(const char *trans, const int *n, const int *nrhs, const double *a, const int *lda,
             const int *ipiv, double *b, const int *ldb, int *info);
void dposv_(const char *uplo, const int *n, const int *nrhs, double *a, const int *lda,
            double *b, const int *ldb, int *info);
#endif
