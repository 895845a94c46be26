// tests/ch03_threads_test.cpp — training does not depend on the thread count beyond float rounding,
// and a seed with a thread count gives bit-identical weights (chapter 3; the adaptive thread count
// of core/parallel.h must not make runs differ).
#include <gtest/gtest.h>

#include <omp.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>
#include <vector>

#include "core/parallel.h"
#include "datasets/shapes.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "train/trainer.h"

namespace stablenn {
namespace {

// One epoch of a small convolutional network on 256 synthetic images, large enough that the
// convolutions, pooling, reductions and the optimiser all split their work across threads.
std::vector<Tensor> train_one_epoch(int threads) {
  FixedThreads fixed(threads);
  Generator g(5);
  const Dataset data = make_shapes(256, g);
  LoaderOptions loader_options;
  loader_options.batch_size = 64;
  loader_options.shuffle = true;
  loader_options.seed = 6;
  const DataLoader loader(data, loader_options);
  auto model = std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Conv2d>(1, 16, 3, 1, 1, true, g), ReLU(), std::make_shared<AvgPool2d>(2),
      std::make_shared<Conv2d>(16, 16, 3, 1, 1, true, g), Tanh(), std::make_shared<AvgPool2d>(2),
      std::make_shared<Flatten>(), std::make_shared<Linear>(16 * 7 * 7, 10, true, g)});
  Adam adam(model->parameters(), 1e-3);
  std::ostringstream quiet;
  TrainerOptions options;
  options.out = &quiet;
  options.progress_style = ProgressStyle::Plain;
  options.epochs = 1;
  Trainer trainer(*model, adam, nullptr, options);
  trainer.fit(loader, nullptr);
  std::vector<Tensor> weights;
  for (const auto& t : model->state()) weights.push_back(t.tensor.clone());
  return weights;
}

TEST(Ch03Threads, SameSeedAndThreadCountGiveBitIdenticalWeights) {
  const std::vector<Tensor> a = train_one_epoch(2), b = train_one_epoch(2);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(max_abs_diff(a[i], b[i]), 0.0) << "tensor " << i;
}

TEST(Ch03Threads, OneAndTwoThreadsAgreeWithinRounding) {
  const std::vector<Tensor> one = train_one_epoch(1), two = train_one_epoch(2);
  const std::vector<Tensor> start = [] {
    FixedThreads fixed(1);
    Generator g(5);
    make_shapes(256, g);  // same draws as train_one_epoch before the layers
    std::vector<Tensor> w;
    for (const auto& t : Conv2d(1, 16, 3, 1, 1, true, g).state()) w.push_back(t.tensor.clone());
    return w;
  }();
  // Four batches of Adam: float rounding differences (OpenBLAS splits some products by thread
  // count) grow to about 1e-5 of the largest weight, not more.
  ASSERT_EQ(one.size(), two.size());
  for (size_t i = 0; i < one.size(); ++i) {
    const double scale = std::max(1e-3, amax(abs(one[i])).item());
    EXPECT_LE(max_abs_diff(one[i], two[i]), 1e-4 * scale) << "tensor " << i;
  }
  // and training moved the weights (the comparison is not between two untouched initialisations)
  EXPECT_GT(max_abs_diff(one[0], start[0]), 1e-4);
}

// OneBlasThread (used around LAPACK's SVD) makes OpenBLAS run on one thread inside its scope only,
// and leaves the shared count and its adaptation as they were.
TEST(Ch03Threads, OneBlasThreadIsScopedAndLeavesTheSharedCountAlone) {
  FixedThreads fixed(2);
  set_adaptive_threads(true);  // (the count in use may drop to 1 here if the machine is busy)
  {
    OneBlasThread one;
    EXPECT_EQ(omp_get_max_threads(), 1);  // what OpenBLAS reads at each call
    EXPECT_EQ(requested_threads(), 2);
    EXPECT_TRUE(adaptive_threads());
  }
  EXPECT_EQ(omp_get_max_threads(), num_threads());
  EXPECT_EQ(requested_threads(), 2);
  EXPECT_TRUE(adaptive_threads());
}

// parallel_tasks with one task (or one thread) runs it at the caller's level, not inside an
// inactive parallel region: libgomp starts fresh threads for each region nested in one, which made
// every op of a one-batch evaluation pay thread creation. Several tasks on several threads run in
// one active region, one task per thread at a time, and each task sees it is inside a region (its
// ops then run on one thread).
TEST(Ch03Threads, ParallelTasksOpensARegionOnlyForSeveralTasksOnSeveralThreads) {
  FixedThreads fixed(2);
  for (int threads : {1, 2}) {
    int level = -1;
    parallel_tasks(1, threads, [&](int64_t) { level = omp_get_level(); });
    EXPECT_EQ(level, 0) << threads << " thread(s), one task";
  }
  std::vector<int> levels(3, 0);
  parallel_tasks(3, 1, [&](int64_t k) { levels[k] = omp_get_level(); });
  EXPECT_EQ(levels, std::vector<int>(3, 0)) << "one thread, three tasks";
  std::vector<int> inside(3, 0);
  parallel_tasks(3, 2, [&](int64_t k) { inside[k] = omp_in_parallel(); });
  EXPECT_EQ(inside, std::vector<int>(3, 1)) << "two threads, three tasks";
}

// The adaptation is visible: a process that keeps a core busy lowers the count in use and the
// change is counted (the programs report it, since it can change the last bits of a run).
TEST(Ch03Threads, ABusyCoreLowersTheCountAndTheChangeIsCounted) {
  const int cores = omp_get_num_procs();
  if (cores < 2) GTEST_SKIP() << "one core: nothing to lower";
  FixedThreads fixed(cores);  // every core requested ...
  const int64_t before = thread_count_changes();
  set_adaptive_threads(true);  // ... and adapted from here on
  const pid_t busy = fork();
  ASSERT_GE(busy, 0) << "fork failed";
  if (busy == 0) {
    volatile uint64_t spins = 0;  // the other program: one core kept busy until killed
    for (;;) spins = spins + 1;
  }
  int lowest = cores;
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (std::chrono::steady_clock::now() < until && lowest == cores) {
    lowest = std::min(lowest, num_threads());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(busy, SIGKILL);
  waitpid(busy, nullptr, 0);
  EXPECT_LT(lowest, cores) << "the count did not drop while another process kept a core busy";
  EXPECT_GT(thread_count_changes(), before);
}

}  // namespace
}  // namespace stablenn
