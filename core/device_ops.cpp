// core/device_ops.cpp — the op tables of the devices (chapter 12).
#include "core/device_ops.h"

#include <mutex>

namespace stablenn {

const char* device_op_name(DeviceOp op) {
  switch (op) {
    case DeviceOp::Add: return "add";
    case DeviceOp::Mul: return "mul";
    case DeviceOp::Relu: return "relu";
    case DeviceOp::Sigmoid: return "sigmoid";
    case DeviceOp::Tanh: return "tanh";
    case DeviceOp::Matmul: return "matmul";
    default: return "sum";
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

Tensor detail::run_on_device(DeviceOp op, const Tensor& a, const Tensor& b) {
  const char* name = device_op_name(op);
  SNN_CHECK(a.defined(), name, ": the operand is undefined");
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
