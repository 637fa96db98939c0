#ifndef MAMBAKIT_CBLAS_SHIM_H
#define MAMBAKIT_CBLAS_SHIM_H
// OpenBLAS's CBLAS interface (Debian: libopenblas-dev, pkg-config name "openblas").
// openblas_set_num_threads is declared there too; Debian's generic libblas shim lacks it.
#include <cblas.h>
#endif
