// core/tensor.h — n-dimensional tensors with shared storage, strides and views (chapter 1).
//
// A Tensor is a view: (storage, shape, strides, offset, dtype). Copying a Tensor copies the view, not
// the data; views made by reshape/permute/slice/expand share the storage of their source. Strides and
// offset are counted in elements, and a stride of 0 is how broadcasting repeats data without copying.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <string>
#include <vector>

#include "core/device.h"
#include "core/error.h"

namespace stablenn {

// Chapter 1: element types. Int64 holds labels and indices (argmax, max-pool); the maths ops are
// float-only and say so when given Int64.
enum class DType { Float32, Float64, Int64 };
size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);

using Shape = std::vector<int64_t>;
// Chapter 1: "[2, 3, 4]", used in every error message about shapes.
std::string shape_str(const Shape& shape);
int64_t shape_numel(const Shape& shape);
// Row-major (C-order) strides of a shape.
Shape contiguous_strides(const Shape& shape);
// NumPy broadcasting of two shapes; throws naming `op` and both shapes when they do not broadcast.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// Wraps a possibly negative axis into [0, ndim); throws naming `op` when out of range.
int64_t wrap_axis(int64_t axis, int64_t ndim, const char* op);

// Chapter 1: a reference-counted, 64-byte aligned buffer. Tensors share it through shared_ptr.
class Storage {
 public:
  Storage(size_t nbytes, DType dtype);
  // Chapter 12: memory owned elsewhere, e.g. on a CUDA device (core/device.h): `release(data)` runs
  // when the last tensor using it goes away.
  Storage(void* data, size_t nbytes, DType dtype, Device device, std::function<void(void*)> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  DType dtype() const { return dtype_; }
  Device device() const { return device_; }

 private:
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  DType dtype_;
  Device device_;
  std::function<void(void*)> release_;  // empty: our own aligned_alloc'd host memory
};

// Chapter 1: the tensor.
class Tensor {
 public:
  Tensor() = default;  // an undefined tensor (defined() == false), used for "no bias" and the like

  // ---- creation (chapter 1) ----
  static Tensor empty(const Shape& shape, DType dtype = DType::Float32);
  static Tensor zeros(const Shape& shape, DType dtype = DType::Float32);
  static Tensor ones(const Shape& shape, DType dtype = DType::Float32);
  static Tensor full(const Shape& shape, double value, DType dtype = DType::Float32);
  static Tensor scalar(double value, DType dtype = DType::Float32);  // 0-d tensor
  static Tensor arange(int64_t n, DType dtype = DType::Float32);
  static Tensor eye(int64_t n, DType dtype = DType::Float32);
  // Copies `values` (row-major) into a new tensor of the given shape; the sizes must agree.
  static Tensor from_vector(const std::vector<double>& values, const Shape& shape,
                            DType dtype = DType::Float32);
  static Tensor from_floats(const std::vector<float>& values, const Shape& shape);
  static Tensor from_int64(const std::vector<int64_t>& values, const Shape& shape);
  // A view on an existing storage (used by the tape and by loaders); no copy.
  Tensor(std::shared_ptr<Storage> storage, Shape shape, Shape strides, int64_t offset);

  // ---- metadata ----
  bool defined() const { return storage_ != nullptr; }
  const Shape& shape() const { return shape_; }
  const Shape& strides() const { return strides_; }
  int64_t offset() const { return offset_; }
  int64_t dim() const { return static_cast<int64_t>(shape_.size()); }
  int64_t size(int64_t axis) const;  // negative axes count from the end
  int64_t numel() const { return shape_numel(shape_); }
  DType dtype() const;
  // Chapter 12: where the storage lives (the CPU for an undefined tensor). Views, clone(),
  // contiguous(), reading values (item, to_vector, str) and the ops of core/device_ops.h work on
  // any device; the other CPU ops, element access and data<T>() throw for a tensor off the CPU.
  Device device() const;
  bool is_contiguous() const;
  const std::shared_ptr<Storage>& storage() const { return storage_; }
  bool shares_storage(const Tensor& other) const { return storage_ && storage_ == other.storage_; }

  // Typed pointer to the first element (storage + offset). T must match dtype().
  template <class T>
  T* data() const;
  void* raw_data() const;

  // ---- element access (chapter 1) ----
  double item() const;                        // the value of a one-element tensor
  double at(const Shape& index) const;        // one element; negative indices count from the end
  void set(const Shape& index, double value); // writes through the view (visible to other views)
  std::vector<double> to_vector() const;      // all elements in row-major order
  std::vector<float> to_floats() const;
  std::vector<int64_t> to_int64() const;

  // ---- views: no data is copied (chapter 1) ----
  Tensor view(const Shape& shape) const;      // throws if the strides do not allow it
  Tensor reshape(const Shape& shape) const;   // a view when possible, otherwise a contiguous copy
  Tensor flatten(int64_t start_axis = 0, int64_t end_axis = -1) const;
  Tensor permute(const Shape& order) const;
  Tensor transpose(int64_t a, int64_t b) const;
  Tensor t() const;  // transpose of a 2-D tensor
  Tensor slice(int64_t axis, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor narrow(int64_t axis, int64_t start, int64_t length) const;
  Tensor select(int64_t axis, int64_t index) const;  // drops the axis
  Tensor expand(const Shape& shape) const;           // broadcast: size-1 axes get stride 0
  Tensor squeeze(int64_t axis) const;
  Tensor squeeze() const;  // all size-1 axes
  Tensor unsqueeze(int64_t axis) const;

  // ---- copies ----
  Tensor contiguous() const;  // itself when already contiguous
  Tensor clone() const;       // always a fresh contiguous copy
  Tensor to(DType dtype) const;
  // Chapter 12: a copy on `device` (itself when already there). To a device it copies the tensor's
  // elements, contiguous; back to the CPU it keeps the shape and gives a contiguous tensor. Throws
  // when the build or the machine has no backend for `device` (core/device.h).
  Tensor to(Device device) const;
  void copy_(const Tensor& src);  // src is broadcast to this shape and converted to this dtype
  void fill_(double value);

  // ---- printing ----
  std::string str() const;

 private:
  std::shared_ptr<Storage> storage_;
  Shape shape_;
  Shape strides_;
  int64_t offset_ = 0;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

}  // namespace stablenn
