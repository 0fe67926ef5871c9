// OpenBLAS through its CBLAS interface, plus the few LAPACK routines HybridPQ calls.
// Debian's libopenblas-dev ships LAPACK inside libopenblas but no LAPACKE header we can rely
// on, so the Fortran-ABI prototypes are declared here (all arguments by pointer, column-major).
#pragma once
#include <cblas.h>

/// Singular value decomposition of a general m×n matrix (LAPACK `sgesvd`, column-major).
void sgesvd_(const char *jobu, const char *jobvt, const int *m, const int *n, float *a,
             const int *lda, float *s, float *u, const int *ldu, float *vt, const int *ldvt,
             float *work, const int *lwork, int *info);

/// Eigen-decomposition of a symmetric matrix (LAPACK `ssyev`, column-major).
void ssyev_(const char *jobz, const char *uplo, const int *n, float *a, const int *lda,
            float *w, float *work, const int *lwork, int *info);
