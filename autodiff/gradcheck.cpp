// autodiff/gradcheck.cpp — full-Jacobian comparison with central differences (chapter 2).
#include "autodiff/gradcheck.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "autodiff/backward.h"
#include "autodiff/ops.h"
#include "core/random.h"

namespace stablenn {
namespace {

// f at the given values, as a flat float64 vector. The inputs are leaves that require grad (not
// NoGrad), because f may itself call grad(), as gradgradcheck's function does.
std::vector<double> evaluate(const VarFunction& f, const std::vector<Tensor>& values) {
  std::vector<Var> leaves;
  for (const Tensor& v : values) leaves.push_back(Var(v, true));
  const Var y = f(leaves);
  SNN_CHECK(y.defined(), "gradcheck: the function returned an undefined Var");
  SNN_CHECK(y.dtype() == DType::Float64, "gradcheck: the function returned ", dtype_name(y.dtype()),
            " for Float64 inputs; every op must keep the inputs' dtype");
  return y.value().to_vector();
}

// Column k of input i's Jacobian by central differences.
std::vector<double> numeric_column(const VarFunction& f, const std::vector<Tensor>& inputs, size_t i,
                                   int64_t k, double eps) {
  std::vector<Tensor> plus = inputs, minus = inputs;
  plus[i] = inputs[i].clone();  // contiguous, so the flat view below writes through
  minus[i] = inputs[i].clone();
  const double x = inputs[i].reshape({-1}).at({k});
  plus[i].reshape({-1}).set({k}, x + eps);
  minus[i].reshape({-1}).set({k}, x - eps);
  const std::vector<double> fp = evaluate(f, plus), fm = evaluate(f, minus);
  std::vector<double> col(fp.size());
  for (size_t r = 0; r < fp.size(); ++r) col[r] = (fp[r] - fm[r]) / (2 * eps);
  return col;
}

}  // namespace

GradcheckResult gradcheck(const VarFunction& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options) {
  std::vector<Tensor> x64;
  std::vector<Var> x_vars;
  for (const Tensor& t : inputs) {
    x64.push_back(t.to(DType::Float64).contiguous().clone());
    x_vars.push_back(Var(x64.back()));
  }
  const std::vector<Tensor> analytic = jacobian(f, x_vars);
  GradcheckResult result;
  double worst_excess = 0.0;
  for (size_t i = 0; i < x64.size(); ++i) {
    const int64_t cols = x64[i].numel();
    for (int64_t k = 0; k < cols; ++k) {
      const std::vector<double> numeric = numeric_column(f, x64, i, k, options.eps);
      SNN_CHECK(static_cast<int64_t>(numeric.size()) == analytic[i].size(0),
                "gradcheck: the function's output size changed between evaluations");
      for (size_t r = 0; r < numeric.size(); ++r) {
        const double a = analytic[i].at({static_cast<int64_t>(r), k});
        const double err = std::fabs(a - numeric[r]);
        const double allowed = options.atol + options.rtol * std::fabs(numeric[r]);
        result.max_abs_error = std::max(result.max_abs_error, err);
        if (!(err <= allowed) && err - allowed >= worst_excess) {  // !(<=) also catches NaN
          worst_excess = std::isnan(err) ? INFINITY : err - allowed;
          result.ok = false;
          std::ostringstream os;
          os << "gradcheck: d output[" << r << "] / d input#" << i << "[" << k << "]: tape gives " << a
             << ", central differences give " << numeric[r] << " (|error| " << err << " > allowed "
             << allowed << ")";
          result.report = os.str();
        }
      }
    }
  }
  if (result.ok) {
    std::ostringstream os;
    os << "gradcheck: ok, max |error| " << result.max_abs_error;
    result.report = os.str();
  }
  return result;
}

GradcheckResult gradgradcheck(const VarFunction& f, const std::vector<Tensor>& inputs,
                              const GradcheckOptions& options) {
  std::vector<Tensor> x64;
  std::vector<Var> leaves;
  for (const Tensor& t : inputs) {
    x64.push_back(t.to(DType::Float64).contiguous().clone());
    leaves.push_back(Var(x64.back(), true));
  }
  const Shape out_shape = f(leaves).shape();
  Generator gen(options.seed);
  x64.push_back(gen.normal(out_shape, 0.0, 1.0, DType::Float64));

  const size_t n = inputs.size();
  // (x, v) -> concat of flattened v^T J_i, recorded so that gradcheck can differentiate it again.
  const VarFunction backward_pass = [&f, n](const std::vector<Var>& all) {
    const std::vector<Var> x(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(n));
    const Var& v = all[n];
    const Var y = f(x);
    GradOptions opts;
    opts.create_graph = true;
    opts.allow_unused = true;
    std::vector<Var> g = y.requires_grad() ? grad({y}, x, {v}, opts) : std::vector<Var>(n);
    std::vector<Var> pieces;
    for (size_t i = 0; i < n; ++i) pieces.push_back(reshape(g[i].defined() ? g[i] : zeros_like(x[i]), {-1}));
    return concat(pieces, 0);
  };
  GradcheckResult r = gradcheck(backward_pass, x64, options);
  r.report = "gradgradcheck: " + r.report.substr(r.report.find(':') + 2);
  return r;
}

}  // namespace stablenn
