// layers/stable/antisymmetric_block.cpp — Haber & Ruthotto's antisymmetric block (chapter 9).
#include "layers/stable/antisymmetric_block.h"

#include <cmath>

#include "layers/init.h"
#include "layers/stable/spectral_norm.h"

namespace stablenn {

AntisymmetricBlock::AntisymmetricBlock(const MapGeometry& geometry_, AntisymmetricOptions options_,
                                       Generator& g, DType dtype)
    : geometry(geometry_), options(std::move(options_)) {
  SNN_CHECK(geometry.in == geometry.out, "AntisymmetricBlock: W must be square (C -> C), got ", geometry.str());
  SNN_CHECK(options.step > 0 && options.damping >= 0, "AntisymmetricBlock: need h > 0 and gamma >= 0, got h = ",
            options.step, ", gamma = ", options.damping);
  weight = register_parameter("weight", kaiming_uniform(geometry.weight_shape(), g, std::sqrt(5.0), dtype));
  if (options.bias) bias = register_parameter("bias", Tensor::zeros({geometry.out}, dtype));
}

Var AntisymmetricBlock::apply_k(const Var& x) const {
  // x: [N, ...sample] -> K x = ½(A x − Aᵀx) − γx
  const LinearOperator A = op();
  const Var skew = mul(sub(A.apply(x), A.adjoint(x)), 0.5);
  return options.damping > 0 ? sub(skew, mul(x, options.damping)) : skew;
}

Var AntisymmetricBlock::forward(const Var& x) {
  Var pre = apply_k(x);
  if (bias.defined()) pre = geometry.conv ? add(pre, reshape(bias, {1, geometry.out, 1, 1})) : add(pre, bias);
  return add(x, mul(options.activation.apply(pre), options.step));
}

std::string AntisymmetricBlock::describe() const {
  return "Antisymmetric(" + geometry.str() + ", h " + std::to_string(options.step).substr(0, 5) + ", gamma " +
         std::to_string(options.damping).substr(0, 5) + ")";
}

double AntisymmetricBlock::lipschitz_bound() {
  double norm_k;
  if (!geometry.conv) {
    const Tensor w = weight.value().to(DType::Float64);
    const Tensor k = sub(mul(sub(w, w.t()), 0.5), mul(Tensor::eye(geometry.in, DType::Float64), options.damping));
    norm_k = spectral_norm_upper_bound(LinearOperator::dense(Var(k)));
  } else {
    norm_k = spectral_norm_upper_bound(op()) + options.damping;
  }
  return 1.0 + options.step * options.activation.lipschitz() * norm_k;
}

}  // namespace stablenn
