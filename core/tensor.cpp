// core/tensor.cpp — storage, views, copies and printing (chapter 1).
#include "core/tensor.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <malloc.h>
#include <iomanip>
#include <numeric>
#include <ostream>
#include <sstream>
#include <vector>

#include "core/device_ops.h"
#include "core/dispatch.h"

namespace stablenn {

size_t dtype_size(DType dtype) { return dtype == DType::Float32 ? 4 : 8; }

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    default: return "int64";
  }
}

bool is_floating(DType dtype) { return dtype != DType::Int64; }

std::string shape_str(const Shape& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

int64_t shape_numel(const Shape& shape) {
  // A zero anywhere makes the product 0, whatever the other sizes: check for it first, so that
  // e.g. [2^32, 2^31, 0] (a file can say so) is 0 and not an overflow on the way.
  for (int64_t s : shape)
    if (s == 0) return 0;
  int64_t n = 1;
  for (int64_t s : shape) {
    SNN_CHECK(!__builtin_mul_overflow(n, s, &n), "shape ", shape_str(shape),
              " has more elements than a 64-bit count holds");
  }
  return n;
}

Shape contiguous_strides(const Shape& shape) {
  Shape strides(shape.size());
  int64_t s = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(shape[i], 1);
  }
  return strides;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    SNN_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", shape_str(a), " and ", shape_str(b),
              " cannot be broadcast together (axis ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

int64_t wrap_axis(int64_t axis, int64_t ndim, const char* op) {
  SNN_CHECK(axis >= -ndim && axis < ndim && (ndim > 0 || axis == 0 || axis == -1), op, ": axis ",
            axis, " is out of range for a tensor with ", ndim, " dimensions");
  return axis < 0 ? axis + ndim : axis;
}

// ---- Storage ----
// glibc serves blocks above its mmap threshold with fresh mmap()s and returns freed heap tops to the
// OS, so a training step that frees and reallocates the same activation buffers page-faults them in
// again every time (about 20 % of an MLP step, measured in bench_autodiff). Keeping freed memory in
// the heap lets the next step reuse it.
static void keep_freed_memory_for_reuse() {
  static const bool done = [] {
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
    return true;
  }();
  (void)done;
}

// Freed blocks of the sizes a loop keeps reallocating (activations, gradients, attack iterates) are
// kept per thread and handed out again by exact size: glibc serves blocks above its small-block
// cache through its bins, and splitting, merging and consolidating them took ~5 % of chapter 8's
// attack (which allocates and frees the same few sizes thousands of times). Small blocks go to
// malloc directly (its per-thread cache is fast for them); the cache holds at most kCachedBytes.
namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool kCacheBlocks = false;  // AddressSanitizer must see every free to catch a use after it
#else
constexpr bool kCacheBlocks = true;
#endif

struct BlockCache {
  static constexpr size_t kMinBytes = kCacheBlocks ? 1024 : SIZE_MAX, kCachedBytes = size_t(32) << 20,
                          kSlots = 64;
  struct Block {
    size_t bytes;
    void* data;
  };
  std::vector<Block> blocks;  // most recently freed last
  size_t total = 0;

  void* take(size_t bytes) {
    for (size_t i = blocks.size(); i-- > 0;)
      if (blocks[i].bytes == bytes) {
        void* data = blocks[i].data;
        blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(i));
        total -= bytes;
        return data;
      }
    return nullptr;
  }
  // False when the block is not kept (too small or too large); the caller frees it.
  bool put(size_t bytes, void* data) {
    if (bytes < kMinBytes || bytes > kCachedBytes) return false;
    while (!blocks.empty() && (blocks.size() >= kSlots || total + bytes > kCachedBytes)) {
      std::free(blocks.front().data);  // the oldest goes first
      total -= blocks.front().bytes;
      blocks.erase(blocks.begin());
    }
    blocks.push_back({bytes, data});
    total += bytes;
    return true;
  }
  ~BlockCache();
};

// Storage freed during thread exit, after this thread's cache is gone, goes straight to free().
thread_local bool t_cache_alive = false;
BlockCache& block_cache() {
  thread_local BlockCache cache;
  t_cache_alive = true;
  return cache;
}
BlockCache::~BlockCache() {
  t_cache_alive = false;
  for (const Block& b : blocks) std::free(b.data);
}

size_t rounded_bytes(size_t nbytes) { return std::max<size_t>(64, (nbytes + 63) / 64 * 64); }

}  // namespace

Storage::Storage(size_t nbytes, DType dtype) : nbytes_(nbytes), dtype_(dtype) {
  keep_freed_memory_for_reuse();
  // 64-byte alignment suits AVX-512 loads and cache lines; aligned_alloc wants a multiple of it.
  const size_t rounded = rounded_bytes(nbytes);
  data_ = rounded >= BlockCache::kMinBytes ? block_cache().take(rounded) : nullptr;
  if (!data_) data_ = std::aligned_alloc(64, rounded);
  if (!data_) fail("Storage: out of memory allocating ", nbytes, " bytes");
}
Storage::Storage(void* data, size_t nbytes, DType dtype, Device device,
                 std::function<void(void*)> release)
    : data_(data), nbytes_(nbytes), dtype_(dtype), device_(device), release_(std::move(release)) {
  SNN_CHECK(release_ != nullptr, "Storage: memory owned elsewhere needs a release function");
}
Storage::~Storage() {
  if (release_) {
    release_(data_);
    return;
  }
  const size_t rounded = rounded_bytes(nbytes_);
  if (rounded >= BlockCache::kMinBytes && t_cache_alive && block_cache().put(rounded, data_)) return;
  std::free(data_);
}

// The CPU kernels read and write through host pointers; a tensor on another device must be copied
// back first, and saying so beats dereferencing a device pointer.
static void require_cpu(const Tensor& t, const char* op) {
  SNN_CHECK(t.device().is_cpu(), op, ": the tensor lives on ", t.device().str(),
            "; the CPU ops need a CPU tensor (call .to(Device::cpu()) first)");
}

// ---- creation ----
Tensor::Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset)
    : storage_(std::move(storage)), shape_(std::move(shape)), strides_(std::move(strides)),
      offset_(offset) {
  SNN_CHECK(shape_.size() == strides_.size(), "Tensor: shape ", shape_str(shape_), " and strides ",
            shape_str(strides_), " differ in length");
  for (int64_t s : shape_) SNN_CHECK(s >= 0, "Tensor: negative size in shape ", shape_str(shape_));
}

Tensor Tensor::empty(const Shape& shape, DType dtype) {
  for (int64_t s : shape) SNN_CHECK(s >= 0, "empty: negative size in shape ", shape_str(shape));
  int64_t bytes = 0;
  SNN_CHECK(!__builtin_mul_overflow(shape_numel(shape), int64_t(dtype_size(dtype)), &bytes),
            "empty: shape ", shape_str(shape), " of ", dtype_name(dtype),
            " needs more bytes than a 64-bit size holds");
  auto storage = std::make_shared<Storage>(bytes, dtype);
  return Tensor(storage, shape, contiguous_strides(shape), 0);
}

Tensor Tensor::zeros(const Shape& shape, DType dtype) {
  Tensor t = empty(shape, dtype);
  std::memset(t.raw_data(), 0, t.numel() * dtype_size(dtype));
  return t;
}

Tensor Tensor::ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }

Tensor Tensor::full(const Shape& shape, double value, DType dtype) {
  Tensor t = empty(shape, dtype);
  t.fill_(value);
  return t;
}

Tensor Tensor::scalar(double value, DType dtype) { return full({}, value, dtype); }

Tensor Tensor::arange(int64_t n, DType dtype) {
  SNN_CHECK(n >= 0, "arange: n must be >= 0, got ", n);
  Tensor t = empty({n}, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(i);
  });
  return t;
}

Tensor Tensor::eye(int64_t n, DType dtype) {
  Tensor t = zeros({n, n}, dtype);
  for (int64_t i = 0; i < n; ++i) t.set({i, i}, 1.0);
  return t;
}

Tensor Tensor::from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  SNN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_vector: ",
            values.size(), " values cannot fill shape ", shape_str(shape));
  Tensor t = empty(shape, dtype);
  detail::dispatch_all(dtype, [&](auto tag) {
    using T = decltype(tag);
    T* p = t.data<T>();
    for (size_t i = 0; i < values.size(); ++i) p[i] = static_cast<T>(values[i]);
  });
  return t;
}

Tensor Tensor::from_floats(const std::vector<float>& values, const Shape& shape) {
  SNN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_floats: ",
            values.size(), " values cannot fill shape ", shape_str(shape));
  Tensor t = empty(shape, DType::Float32);
  std::copy(values.begin(), values.end(), t.data<float>());
  return t;
}

Tensor Tensor::from_int64(const std::vector<int64_t>& values, const Shape& shape) {
  SNN_CHECK(static_cast<int64_t>(values.size()) == shape_numel(shape), "from_int64: ",
            values.size(), " values cannot fill shape ", shape_str(shape));
  Tensor t = empty(shape, DType::Int64);
  std::copy(values.begin(), values.end(), t.data<int64_t>());
  return t;
}

// ---- metadata ----
int64_t Tensor::size(int64_t axis) const { return shape_[wrap_axis(axis, dim(), "size")]; }

DType Tensor::dtype() const {
  SNN_CHECK(defined(), "dtype: the tensor is undefined");
  return storage_->dtype();
}

Device Tensor::device() const { return storage_ ? storage_->device() : Device::cpu(); }

bool Tensor::is_contiguous() const {
  int64_t expected = 1;
  for (size_t i = shape_.size(); i-- > 0;) {
    if (shape_[i] == 1) continue;
    if (shape_[i] == 0) return true;
    if (strides_[i] != expected) return false;
    expected *= shape_[i];
  }
  return true;
}

template <class T>
static DType dtype_of() {
  if (std::is_same<T, float>::value) return DType::Float32;
  if (std::is_same<T, double>::value) return DType::Float64;
  return DType::Int64;
}

template <class T>
T* Tensor::data() const {
  SNN_CHECK(defined(), "data: the tensor is undefined");
  SNN_CHECK(dtype() == dtype_of<T>(), "data: the tensor holds ", dtype_name(dtype()),
            ", not ", dtype_name(dtype_of<T>()));
  require_cpu(*this, "data");
  return static_cast<T*>(storage_->data()) + offset_;
}
template float* Tensor::data<float>() const;
template double* Tensor::data<double>() const;
template int64_t* Tensor::data<int64_t>() const;

void* Tensor::raw_data() const {
  SNN_CHECK(defined(), "raw_data: the tensor is undefined");
  require_cpu(*this, "raw_data");
  return static_cast<char*>(storage_->data()) + offset_ * dtype_size(dtype());
}

// ---- element access ----
static int64_t element_offset(const Tensor& t, const Shape& index, const char* op) {
  SNN_CHECK(static_cast<int64_t>(index.size()) == t.dim(), op, ": index has ", index.size(),
            " entries but the tensor has shape ", shape_str(t.shape()));
  int64_t off = t.offset();
  for (size_t d = 0; d < index.size(); ++d) {
    int64_t i = index[d];
    const int64_t n = t.shape()[d];
    SNN_CHECK(i >= -n && i < n, op, ": index ", i, " is out of range for axis ", d, " of size ", n,
              " (shape ", shape_str(t.shape()), ")");
    off += (i < 0 ? i + n : i) * t.strides()[d];
  }
  return off;
}

double Tensor::at(const Shape& index) const {
  const int64_t off = element_offset(*this, index, "at");
  require_cpu(*this, "at");
  return detail::dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    return static_cast<double>(static_cast<const T*>(storage_->data())[off]);
  });
}

void Tensor::set(const Shape& index, double value) {
  const int64_t off = element_offset(*this, index, "set");
  require_cpu(*this, "set");
  detail::dispatch_all(dtype(), [&](auto tag) {
    using T = decltype(tag);
    static_cast<T*>(storage_->data())[off] = static_cast<T>(value);
  });
}

double Tensor::item() const {
  SNN_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", shape_str(shape_));
  if (!device().is_cpu()) return to(Device::cpu()).item();  // reading a value copies it back
  return contiguous().to_vector()[0];
}

std::vector<double> Tensor::to_vector() const {
  if (!device().is_cpu()) return to(Device::cpu()).to_vector();
  Tensor c = to(DType::Float64);
  return std::vector<double>(c.data<double>(), c.data<double>() + c.numel());
}

std::vector<float> Tensor::to_floats() const {
  if (!device().is_cpu()) return to(Device::cpu()).to_floats();
  Tensor c = to(DType::Float32);
  return std::vector<float>(c.data<float>(), c.data<float>() + c.numel());
}

std::vector<int64_t> Tensor::to_int64() const {
  if (!device().is_cpu()) return to(Device::cpu()).to_int64();
  Tensor c = to(DType::Int64);
  return std::vector<int64_t>(c.data<int64_t>(), c.data<int64_t>() + c.numel());
}

// ---- views ----
// Resolves one -1 entry and checks the element count.
static Shape infer_shape(const Shape& shape, int64_t numel, const char* op, const Shape& from) {
  Shape out = shape;
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      SNN_CHECK(infer_at < 0, op, ": only one size may be -1, got ", shape_str(shape));
      infer_at = static_cast<int64_t>(i);
    } else {
      SNN_CHECK(out[i] >= 0, op, ": invalid size in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    SNN_CHECK(known != 0 && numel % known == 0, op, ": cannot reshape ", shape_str(from), " into ",
              shape_str(shape));
    out[infer_at] = numel / known;
  }
  SNN_CHECK(shape_numel(out) == numel, op, ": cannot reshape ", shape_str(from), " (", numel,
            " elements) into ", shape_str(shape));
  return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, if possible. Walks both shapes
// from the innermost axis in chunks: a run of old axes that is contiguous within itself can be split
// into any new axes with the same element count (the rule PyTorch's view uses).
static bool view_strides(Shape shape, Shape strides, const Shape& new_shape, Shape* new_strides) {
  new_strides->assign(new_shape.size(), 0);
  if (shape_numel(shape) == 0) {
    *new_strides = contiguous_strides(new_shape);
    return true;
  }
  if (shape.empty()) { shape = {1}; strides = {1}; }
  int64_t view_d = static_cast<int64_t>(new_shape.size()) - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    const bool chunk_ends =
        d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
      (*new_strides)[view_d] = view_numel * chunk_base_stride;
      view_numel *= new_shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return false;
    if (d > 0) {
      chunk_base_stride = strides[d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  return view_d == -1;
}

Tensor Tensor::view(const Shape& shape) const {
  const Shape target = infer_shape(shape, numel(), "view", shape_);
  Shape new_strides;
  SNN_CHECK(view_strides(shape_, strides_, target, &new_strides), "view: a tensor of shape ",
            shape_str(shape_), " with strides ", shape_str(strides_), " cannot be viewed as ",
            shape_str(target), " without a copy; use reshape()");
  return Tensor(storage_, target, new_strides, offset_);
}

Tensor Tensor::reshape(const Shape& shape) const {
  const Shape target = infer_shape(shape, numel(), "reshape", shape_);
  Shape new_strides;
  if (view_strides(shape_, strides_, target, &new_strides))
    return Tensor(storage_, target, new_strides, offset_);
  return contiguous().view(target);
}

Tensor Tensor::flatten(int64_t start_axis, int64_t end_axis) const {
  if (dim() == 0) return reshape({1});
  const int64_t a = wrap_axis(start_axis, dim(), "flatten"), b = wrap_axis(end_axis, dim(), "flatten");
  SNN_CHECK(a <= b, "flatten: start axis ", start_axis, " comes after end axis ", end_axis);
  Shape s(shape_.begin(), shape_.begin() + a);
  int64_t n = 1;
  for (int64_t d = a; d <= b; ++d) n *= shape_[d];
  s.push_back(n);
  s.insert(s.end(), shape_.begin() + b + 1, shape_.end());
  return reshape(s);
}

Tensor Tensor::permute(const Shape& order) const {
  SNN_CHECK(static_cast<int64_t>(order.size()) == dim(), "permute: order ", shape_str(order),
            " does not match a tensor of shape ", shape_str(shape_));
  Shape s(order.size()), st(order.size());
  std::vector<bool> seen(order.size(), false);
  for (size_t i = 0; i < order.size(); ++i) {
    const int64_t a = wrap_axis(order[i], dim(), "permute");
    SNN_CHECK(!seen[a], "permute: axis ", order[i], " repeated in ", shape_str(order));
    seen[a] = true;
    s[i] = shape_[a];
    st[i] = strides_[a];
  }
  return Tensor(storage_, s, st, offset_);
}

Tensor Tensor::transpose(int64_t a, int64_t b) const {
  a = wrap_axis(a, dim(), "transpose");
  b = wrap_axis(b, dim(), "transpose");
  Shape order(dim());
  std::iota(order.begin(), order.end(), 0);
  std::swap(order[a], order[b]);
  return permute(order);
}

Tensor Tensor::t() const {
  SNN_CHECK(dim() == 2, "t: expected a 2-D tensor, got shape ", shape_str(shape_));
  return transpose(0, 1);
}

Tensor Tensor::slice(int64_t axis, int64_t start, int64_t end, int64_t step) const {
  axis = wrap_axis(axis, dim(), "slice");
  SNN_CHECK(step > 0, "slice: step must be positive, got ", step);
  const int64_t n = shape_[axis];
  if (start < 0) start += n;
  if (end < 0) end += n;
  start = std::clamp<int64_t>(start, 0, n);
  end = std::clamp<int64_t>(end, start, n);
  Shape s = shape_, st = strides_;
  s[axis] = (end - start + step - 1) / step;
  st[axis] = strides_[axis] * step;
  return Tensor(storage_, s, st, offset_ + start * strides_[axis]);
}

Tensor Tensor::narrow(int64_t axis, int64_t start, int64_t length) const {
  axis = wrap_axis(axis, dim(), "narrow");
  SNN_CHECK(start >= 0 && length >= 0 && start + length <= shape_[axis], "narrow: range [", start,
            ", ", start + length, ") is out of bounds for axis ", axis, " of shape ",
            shape_str(shape_));
  return slice(axis, start, start + length);
}

Tensor Tensor::select(int64_t axis, int64_t index) const {
  axis = wrap_axis(axis, dim(), "select");
  const int64_t n = shape_[axis];
  SNN_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for axis ", axis,
            " of shape ", shape_str(shape_));
  if (index < 0) index += n;
  Shape s = shape_, st = strides_;
  s.erase(s.begin() + axis);
  st.erase(st.begin() + axis);
  return Tensor(storage_, s, st, offset_ + index * strides_[axis]);
}

Tensor Tensor::expand(const Shape& shape) const {
  SNN_CHECK(shape.size() >= shape_.size(), "expand: cannot expand shape ", shape_str(shape_),
            " to fewer dimensions ", shape_str(shape));
  const size_t lead = shape.size() - shape_.size();
  Shape st(shape.size(), 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i < lead) continue;
    const int64_t have = shape_[i - lead];
    SNN_CHECK(have == shape[i] || have == 1, "expand: shape ", shape_str(shape_),
              " cannot be broadcast to ", shape_str(shape));
    st[i] = have == shape[i] ? strides_[i - lead] : 0;
  }
  return Tensor(storage_, shape, st, offset_);
}

Tensor Tensor::squeeze(int64_t axis) const {
  axis = wrap_axis(axis, dim(), "squeeze");
  SNN_CHECK(shape_[axis] == 1, "squeeze: axis ", axis, " has size ", shape_[axis],
            ", not 1 (shape ", shape_str(shape_), ")");
  return select(axis, 0);
}

Tensor Tensor::squeeze() const {
  Shape s, st;
  for (size_t i = 0; i < shape_.size(); ++i)
    if (shape_[i] != 1) { s.push_back(shape_[i]); st.push_back(strides_[i]); }
  return Tensor(storage_, s, st, offset_);
}

Tensor Tensor::unsqueeze(int64_t axis) const {
  axis = wrap_axis(axis, dim() + 1, "unsqueeze");
  Shape s = shape_, st = strides_;
  const int64_t stride = axis < dim() ? strides_[axis] * shape_[axis] : 1;
  s.insert(s.begin() + axis, 1);
  st.insert(st.begin() + axis, stride);
  return Tensor(storage_, s, st, offset_);
}

// ---- copies ----
void Tensor::copy_(const Tensor& src) {
  SNN_CHECK(defined() && src.defined(), "copy_: undefined tensor");
  require_cpu(*this, "copy_");
  require_cpu(src, "copy_");
  SNN_CHECK(broadcast_shapes(src.shape(), shape_, "copy_") == shape_, "copy_: cannot copy shape ",
            shape_str(src.shape()), " into shape ", shape_str(shape_));
  const Tensor from = src.expand(shape_);
  detail::dispatch_all(dtype(), [&](auto out_tag) {
    using TO = decltype(out_tag);
    detail::dispatch_all(from.dtype(), [&](auto in_tag) {
      using TI = decltype(in_tag);
      TO* out = static_cast<TO*>(storage_->data());
      const TI* in = static_cast<const TI*>(from.storage()->data());
      const int64_t o0 = offset_, i0 = from.offset();
      detail::for_each_strided<2>(shape_, {&strides_, &from.strides()}, kDefaultGrain,
                                  [&](const std::array<int64_t, 2>& off,
                                      const std::array<int64_t, 2>& s, int64_t n) {
                                    TO* o = out + o0 + off[0];
                                    const TI* x = in + i0 + off[1];
                                    if (s[0] == 1 && s[1] == 1)
                                      for (int64_t k = 0; k < n; ++k) o[k] = static_cast<TO>(x[k]);
                                    else
                                      for (int64_t k = 0; k < n; ++k)
                                        o[k * s[0]] = static_cast<TO>(x[k * s[1]]);
                                  });
    });
  });
}

void Tensor::fill_(double value) {
  copy_(Tensor::from_vector({value}, {}, DType::Float64));
}

Tensor Tensor::to(Device device) const {
  SNN_CHECK(defined(), "to(", device.str(), "): the tensor is undefined");
  const Device here = this->device();
  if (here == device) return *this;
  const size_t elem = dtype_size(dtype());
  if (here.is_cpu()) {  // host -> device: the elements, contiguous
    const Tensor src = contiguous();
    DeviceBackend& backend = device_backend(device);
    const size_t nbytes = static_cast<size_t>(numel()) * elem;
    std::shared_ptr<Storage> storage = backend.allocate(nbytes, dtype(), device);
    SNN_CHECK(storage && storage->device() == device && storage->nbytes() >= nbytes,
              "to(", device.str(), "): the device backend returned unsuitable storage");
    if (nbytes > 0) backend.copy_to_device(storage->data(), src.raw_data(), nbytes, device);
    return Tensor(storage, shape_, contiguous_strides(shape_), 0);
  }
  // device -> host: copy the whole storage (any view of it stays valid: permuted, sliced,
  // broadcast), take the same view on the host copy, and make that contiguous.
  DeviceBackend& backend = device_backend(here);
  auto host = std::make_shared<Storage>(storage_->nbytes(), dtype());
  if (storage_->nbytes() > 0)
    backend.copy_to_host(host->data(), storage_->data(), storage_->nbytes(), here);
  const Tensor on_cpu = Tensor(host, shape_, strides_, offset_).contiguous();
  return device.is_cpu() ? on_cpu : on_cpu.to(device);  // device -> other device goes via the host
}

Tensor Tensor::contiguous() const {
  if (is_contiguous()) return *this;
  return clone();
}

Tensor Tensor::clone() const {
  if (!device().is_cpu()) return detail::run_on_device(DeviceOp::Clone, *this);
  Tensor out = empty(shape_, dtype());
  out.copy_(*this);
  return out;
}

Tensor Tensor::to(DType dtype_out) const {
  if (dtype() == dtype_out) return contiguous();
  Tensor out = empty(shape_, dtype_out);
  out.copy_(*this);
  return out;
}

// ---- printing ----
// NumPy-style: nested brackets, large axes summarised as "first 3, ..., last 3".
static void print_rec(std::ostream& os, const Tensor& t, Shape& idx, size_t axis, bool summarise,
                      int width, int precision, bool integer) {
  const int64_t n = t.shape()[axis];
  os << '[';
  for (int64_t i = 0; i < n; ++i) {
    if (summarise && n > 6 && i == 3) {
      os << (axis + 1 == t.shape().size() ? "..., " : "...,\n" + std::string(axis + 1, ' '));
      i = n - 3;
    }
    idx[axis] = i;
    if (axis + 1 == t.shape().size()) {
      const double v = t.at(idx);
      if (integer) os << std::setw(width) << static_cast<int64_t>(v);
      else os << std::setw(width) << std::fixed << std::setprecision(precision) << v;
    } else {
      print_rec(os, t, idx, axis + 1, summarise, width, precision, integer);
    }
    if (i + 1 < n) os << (axis + 1 == t.shape().size() ? ", " : ",\n" + std::string(axis + 1, ' '));
  }
  os << ']';
}

std::string Tensor::str() const {
  if (!defined()) return "tensor(undefined)";
  if (!device().is_cpu()) {  // printed from a host copy, saying where it lives
    std::string s = to(Device::cpu()).str();
    return s.insert(s.size() - 1, ", device=" + device().str());
  }
  std::ostringstream os;
  os << "tensor(";
  const bool integer = dtype() == DType::Int64;
  if (dim() == 0) {
    if (integer) os << static_cast<int64_t>(at({}));
    else os << std::setprecision(6) << at({});
  } else if (numel() == 0) {
    os << "[]";
  } else {
    double big = 0;
    for (double v : to_vector()) big = std::max(big, std::abs(v));
    const int precision = big >= 1e6 ? 1 : 4;
    const int width = static_cast<int>(std::to_string(static_cast<int64_t>(big)).size()) +
                      (integer ? 1 : precision + 2);
    Shape idx(dim(), 0);
    print_rec(os, *this, idx, 0, numel() > 1000, width, precision, integer);
  }
  os << ", shape=" << shape_str(shape_) << ", dtype=" << dtype_name(dtype()) << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

}  // namespace stablenn
