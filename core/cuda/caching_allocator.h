// core/cuda/caching_allocator.h — a caching allocator over a raw allocate/free backend (chapter 12).
//
// cudaMalloc and cudaFree are slow (cudaFree synchronises the device), and a training step frees and
// allocates the same activation sizes every iteration. So freed blocks are kept in free lists by
// size class and handed out again; only empty_cache() (or running out of memory) gives them back.
// The bookkeeping is plain host code, parameterised over the raw backend, so the CPU tests check it
// with a fake backend; core/cuda/cuda_backend.cu plugs in cudaMalloc/cudaFree.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/error.h"

namespace stablenn::cuda {

// Chapter 12: what the allocator holds, in bytes of rounded block sizes, and how often it hit.
struct AllocatorStats {
  size_t bytes_in_use = 0;       // blocks handed out and not yet freed
  size_t bytes_cached = 0;       // freed blocks kept for reuse
  size_t peak_bytes_in_use = 0;  // the largest bytes_in_use so far (reset_peak() restarts it)
  size_t allocations = 0;        // calls to allocate()
  size_t cache_hits = 0;         // allocations served from a free list
  size_t backend_allocations = 0;
  size_t backend_frees = 0;
};

// Chapter 12: the size class of a request. Below 1 MiB, a multiple of 512 bytes (the alignment
// cudaMalloc guarantees is 256); above, a multiple of an eighth of the power of two below the size,
// so at most 12.5 % is wasted while a batch of slightly different sizes still shares a class.
// Zero bytes still get the smallest block, so every allocation has its own address.
inline size_t round_block_size(size_t nbytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(1) << 20;
  if (nbytes <= kSmall) return kSmall;
  if (nbytes < kLarge) return (nbytes + kSmall - 1) / kSmall * kSmall;
  size_t power = kLarge;
  while (power <= nbytes / 2) power *= 2;  // the power of two with power <= nbytes < 2 power
  const size_t step = power / 8;
  SNN_CHECK(nbytes <= ~size_t(0) - step, "allocate: ", nbytes, " bytes is more than any device holds");
  return (nbytes + step - 1) / step * step;
}

// Chapter 12: the allocator. Backend needs `void* allocate(size_t)` (nullptr when out of memory)
// and `void release(void*)`. Thread-safe: one mutex around the lists.
template <class Backend>
class CachingAllocator {
 public:
  explicit CachingAllocator(Backend backend = Backend()) : backend_(std::move(backend)) {}
  ~CachingAllocator() { empty_cache(); }  // blocks still in use belong to their tensors
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `nbytes`. Reuses a cached block of the same size class; otherwise asks the
  // backend, and if that fails, gives the cache back and asks once more before throwing.
  void* allocate(size_t nbytes) {
    const size_t size = round_block_size(nbytes);
    std::lock_guard<std::mutex> lock(mutex_);
    ++stats_.allocations;
    void* ptr = nullptr;
    auto bucket = free_.find(size);
    if (bucket != free_.end() && !bucket->second.empty()) {
      ptr = bucket->second.back();
      bucket->second.pop_back();
      stats_.bytes_cached -= size;
      ++stats_.cache_hits;
    } else {
      ptr = backend_.allocate(size);
      if (!ptr && stats_.bytes_cached > 0) {
        release_cached_locked();
        ptr = backend_.allocate(size);
      }
      SNN_CHECK(ptr != nullptr, "allocate: out of device memory for ", nbytes, " bytes (",
                stats_.bytes_in_use, " bytes in use)");
      ++stats_.backend_allocations;
    }
    in_use_.emplace(ptr, size);
    stats_.bytes_in_use += size;
    if (stats_.bytes_in_use > stats_.peak_bytes_in_use) stats_.peak_bytes_in_use = stats_.bytes_in_use;
    return ptr;
  }

  // Returns a block to its free list. nullptr is ignored; a pointer this allocator did not hand out,
  // or one already freed, throws (it would otherwise corrupt the lists).
  void free(void* ptr) {
    if (!ptr) return;
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(ptr);
    SNN_CHECK(it != in_use_.end(), "free: pointer ", ptr,
              " is not in use: freed twice, or not from this allocator");
    const size_t size = it->second;
    in_use_.erase(it);
    stats_.bytes_in_use -= size;
    free_[size].push_back(ptr);
    stats_.bytes_cached += size;
  }

  // Gives every cached block back to the backend (cudaFree); blocks in use are untouched.
  void empty_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    release_cached_locked();
  }

  // The rounded size of a block in use (0 if `ptr` is not one).
  size_t block_size(const void* ptr) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = in_use_.find(const_cast<void*>(ptr));
    return it == in_use_.end() ? 0 : it->second;
  }

  AllocatorStats stats() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }
  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  }
  Backend& backend() { return backend_; }

 private:
  void release_cached_locked() {
    for (auto& [size, blocks] : free_) {
      for (void* p : blocks) {
        backend_.release(p);
        ++stats_.backend_frees;
      }
      stats_.bytes_cached -= size * blocks.size();
    }
    free_.clear();
  }

  Backend backend_;
  mutable std::mutex mutex_;
  std::unordered_map<void*, size_t> in_use_;      // block -> rounded size
  std::map<size_t, std::vector<void*>> free_;     // rounded size -> cached blocks
  AllocatorStats stats_;
};

}  // namespace stablenn::cuda
