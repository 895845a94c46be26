// core/parallel.cpp — the thread count shared by our OpenMP loops and OpenBLAS (chapter 1).
#include "core/parallel.h"

#include <cblas.h>

#include <string>

// OpenBLAS extensions (declared in its cblas.h in recent versions; repeated for older headers).
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
int openblas_get_parallel(void);
}

namespace stablenn {

static int g_threads = 0;  // 0: not set yet, use OpenMP's default (OMP_NUM_THREADS or all cores)

int num_threads() { return g_threads > 0 ? g_threads : omp_get_max_threads(); }

void set_num_threads(int n) {
  static const int omp_default = omp_get_max_threads();
  g_threads = n > 0 ? n : omp_default;
  omp_set_num_threads(g_threads);
  openblas_set_num_threads(g_threads);
}

const char* blas_info() {
  static std::string info;
  if (info.empty()) {
    const int mode = openblas_get_parallel();
    info = std::string("OpenBLAS ") + openblas_get_config() + " (" +
           (mode == 2 ? "OpenMP threads, shared with stablenn" : mode == 1 ? "pthreads" : "sequential") +
           ")";
  }
  return info.c_str();
}

}  // namespace stablenn
