// core/device_ops.cpp — the op tables of the devices (chapter 12).
#include "core/device_ops.h"

#include <mutex>

namespace stablenn {

const char* device_op_name(DeviceOp op) {
  switch (op) {
    case DeviceOp::Add: return "add";
    case DeviceOp::Sub: return "sub";
    case DeviceOp::Mul: return "mul";
    case DeviceOp::Div: return "div";
    case DeviceOp::Relu: return "relu";
    case DeviceOp::Sigmoid: return "sigmoid";
    case DeviceOp::Tanh: return "tanh";
    case DeviceOp::Matmul: return "matmul";
    case DeviceOp::SumAll: return "sum";
    default: return "clone";
  }
}

namespace {
std::mutex ops_mutex;
DeviceOps* cuda_ops = nullptr;
}  // namespace

DeviceOps* set_device_ops(Device::Kind kind, DeviceOps* ops) {
  SNN_CHECK(kind != Device::Kind::CPU, "set_device_ops: the CPU runs the core ops itself");
  std::lock_guard<std::mutex> lock(ops_mutex);
  DeviceOps* previous = cuda_ops;
  cuda_ops = ops;
  return previous;
}

// A 0-d CPU tensor next to a device tensor (add(x, 2.0) makes one) goes to that device: copying
// one number is cheap, and refusing it would make every scalar form fail.
static bool is_cpu_scalar(const Tensor& t) { return t.defined() && t.device().is_cpu() && t.dim() == 0; }

Tensor detail::run_on_device(DeviceOp op, const Tensor& a_in, const Tensor& b_in) {
  const char* name = device_op_name(op);
  SNN_CHECK(a_in.defined(), name, ": the operand is undefined");
  const bool promote_a = is_cpu_scalar(a_in) && b_in.defined() && !b_in.device().is_cpu();
  const bool promote_b = is_cpu_scalar(b_in) && !a_in.device().is_cpu();
  const Tensor a = promote_a ? a_in.to(b_in.device()) : a_in;
  const Tensor b = promote_b ? b_in.to(a_in.device()) : b_in;
  const Device device = a.device().is_cpu() && b.defined() ? b.device() : a.device();
  SNN_CHECK(!b.defined() || a.device() == b.device(), name, ": operands on ", a.device().str(),
            " and ", b.device().str(), "; move both to one device with .to(Device)");
  DeviceOps* ops = nullptr;
  {
    std::lock_guard<std::mutex> lock(ops_mutex);
    ops = cuda_ops;
  }
  SNN_CHECK(ops != nullptr, name, ": the operands live on ", device.str(),
            ", which has no op table installed (stablenn::cuda::register_backend())");
  return ops->run(op, a, b);
}

}  // namespace stablenn
