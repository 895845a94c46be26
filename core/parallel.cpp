// core/parallel.cpp — the thread count shared by our OpenMP loops and OpenBLAS, and the load probe
// that lowers it while other programs keep cores busy (chapter 1).
#include "core/parallel.h"

#include <cblas.h>
#include <sched.h>
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

// OpenBLAS extensions (declared in its cblas.h in recent versions; repeated for older headers).
extern "C" {
void openblas_set_num_threads(int num_threads);
char* openblas_get_config(void);
int openblas_get_parallel(void);
}

namespace stablenn {
namespace {

int omp_default_threads() {
  static const int n = omp_get_max_threads();  // OMP_NUM_THREADS, or all cores
  return n;
}

std::atomic<int> g_requested{0};  // 0: not set yet, use omp_default_threads()
std::atomic<int> g_effective{0};  // 0: not measured yet, use the requested count
std::atomic<bool> g_adaptive{[] {
  const char* env = std::getenv("STABLENN_ADAPTIVE_THREADS");
  return !(env && std::strcmp(env, "0") == 0);
}()};
std::atomic<double> g_other_load{0.0};
std::atomic<int64_t> g_count_changes{0};  // times the adapted count moved (thread_count_changes)

// Busy and total clock ticks of the whole machine (/proc/stat's first line), and this process's
// own CPU ticks (/proc/self/stat, utime + stime). False where /proc is not there (e.g. macOS).
bool read_ticks(long long* busy, long long* total, long long* own) {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (!f) return false;
  long long v[10] = {0};
  const int got = std::fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1],
                              &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
  std::fclose(f);
  if (got < 8) return false;
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  *total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
  *busy = *total - v[3] - v[4];
  // Niced programs (a background build under `nice`) give their core up to us at once, so their
  // time is not load, unless we run niced ourselves and compete with them as equals.
  static const bool we_are_niced = ::getpriority(PRIO_PROCESS, 0) > 0;
  if (!we_are_niced) *busy -= v[1];
  f = std::fopen("/proc/self/stat", "r");
  if (!f) return false;
  char buf[1024];
  const size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = '\0';
  const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
  if (!p) return false;
  long long utime = 0, stime = 0;
  // after ")": state, then fields 4..13, then utime (14) and stime (15)
  if (std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime) != 2)
    return false;
  *own = utime + stime;
  return true;
}

int online_cpus() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1, omp_get_num_procs());
}

// Every 0.2 s at most: how many cores did other programs use since the last look? The count we
// use is the cores left to us, rounded so that a program using more than about a quarter of a
// core takes that core (we would only wait for it at barriers), and never above the request.
void probe_load(int requested) {
  using clock = std::chrono::steady_clock;
  static std::mutex mutex;
  static long long last_busy = -1, last_total = 0, last_own = 0;
  static std::atomic<int64_t> next_ns{0};
  const int64_t now_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now().time_since_epoch()).count();
  if (now_ns < next_ns.load(std::memory_order_relaxed)) return;
  std::unique_lock<std::mutex> lock(mutex, std::try_to_lock);
  if (!lock.owns_lock()) return;
  next_ns.store(now_ns + 200000000, std::memory_order_relaxed);
  long long busy = 0, total = 0, own = 0;
  if (!read_ticks(&busy, &total, &own)) {
    next_ns.store(INT64_MAX, std::memory_order_relaxed);  // no /proc: never adapt
    return;
  }
  if (last_busy >= 0 && total > last_total) {
    const int cpus = online_cpus();
    // ticks are per core: a window of total ticks covers `cpus` cores
    const double window = double(total - last_total) / cpus;
    const double other = std::max(0.0, double((busy - last_busy) - (own - last_own)) / window);
    g_other_load.store(other, std::memory_order_relaxed);
    const int free_cores = static_cast<int>(std::floor(cpus - other + 0.25));
    const int effective = std::max(1, std::min(requested, free_cores));
    const int before = g_effective.exchange(effective);
    if (effective != (before > 0 ? before : requested)) g_count_changes.fetch_add(1);
  }
  last_busy = busy;
  last_total = total;
  last_own = own;
}

}  // namespace

// The OpenMP thread count last set on this thread (OpenBLAS reads it at every call).
thread_local int t_told = -1;

int requested_threads() {
  const int r = g_requested.load(std::memory_order_relaxed);
  return r > 0 ? r : omp_default_threads();
}

int num_threads() {
  const int requested = requested_threads();
  int count = requested;
  if (g_adaptive.load(std::memory_order_relaxed) && requested > 1) {
    if (!omp_in_parallel()) probe_load(requested);
    const int e = g_effective.load(std::memory_order_relaxed);
    if (e > 0) count = std::min(requested, e);
  }
  // OpenBLAS (OpenMP build) takes its thread count from this thread's OpenMP setting at every
  // call: keep that setting equal to ours on every thread that computes.
  if (t_told != count && !omp_in_parallel()) {
    omp_set_num_threads(count);
    t_told = count;
  }
  return count;
}

OneBlasThread::OneBlasThread() {
  if (omp_in_parallel()) return;  // inside a region BLAS runs on one thread anyway
  omp_set_num_threads(1);
  t_told = 1;
}

OneBlasThread::~OneBlasThread() {
  t_told = -1;  // the next num_threads() sets the shared count again
  num_threads();
}

void set_num_threads(int n) {
  g_requested.store(n > 0 ? n : omp_default_threads());
  g_effective.store(0);
  const int count = num_threads();
  openblas_set_num_threads(count);
}

void set_adaptive_threads(bool on) {
  g_adaptive.store(on);
  g_effective.store(0);
  num_threads();
}

bool adaptive_threads() { return g_adaptive.load(); }

FixedThreads::FixedThreads(int n) : saved_threads_(requested_threads()), saved_adaptive_(adaptive_threads()) {
  set_adaptive_threads(false);
  set_num_threads(n);
}

FixedThreads::~FixedThreads() {
  set_adaptive_threads(saved_adaptive_);
  set_num_threads(saved_threads_);
}

double other_load() { return g_other_load.load(std::memory_order_relaxed); }

int64_t thread_count_changes() { return g_count_changes.load(); }

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
