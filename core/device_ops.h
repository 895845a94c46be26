// core/device_ops.h — the dispatch point of the core ops for tensors off the CPU (chapter 12).
//
// A core op whose operands all live on the CPU runs as before. When one lives elsewhere, the op
// asks the op table of that device (installed by its backend, e.g. stablenn::cuda::register_backend())
// to run it there; operands on two devices, or an op the device does not run yet, throw naming
// the op and the devices. So far: add, sub, mul, div (and their scalar forms: a CPU 0-d operand
// goes to the other's device, as in PyTorch), relu, sigmoid, tanh, matmul, the sum of all elements,
// and Tensor::clone (so contiguous() and reshape() of any view).
#pragma once
#include "core/tensor.h"

namespace stablenn {

// Chapter 12: the core ops a device may run.
enum class DeviceOp { Add, Sub, Mul, Div, Relu, Sigmoid, Tanh, Matmul, SumAll, Clone };
const char* device_op_name(DeviceOp op);

// Chapter 12: a device's op table. `run` gets operands on that device (`b` undefined for the
// unary ops and SumAll) and returns the result there.
class DeviceOps {
 public:
  virtual ~DeviceOps() = default;
  virtual Tensor run(DeviceOp op, const Tensor& a, const Tensor& b) = 0;
};

// Chapter 12: installs the op table of a device kind (nullptr removes it); returns the previous one.
DeviceOps* set_device_ops(Device::Kind kind, DeviceOps* ops);

namespace detail {
// True when any defined operand lives off the CPU: the one test the CPU path pays.
inline bool off_cpu(const Tensor& a, const Tensor& b = Tensor()) {
  return !a.device().is_cpu() || !b.device().is_cpu();
}
// Runs `op` on the device of its operands; throws when they are on different devices or the
// device has no table for it.
Tensor run_on_device(DeviceOp op, const Tensor& a, const Tensor& b = Tensor());
}  // namespace detail

}  // namespace stablenn
