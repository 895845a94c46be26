// ode/state_var.cpp — lincomb on the tape, error norms on the values (chapter 4).
#include "ode/state_var.h"

#include "autodiff/ops.h"
#include "core/error.h"
#include "ode/state_vector.h"

namespace stablenn {

namespace {

void check_stage_shapes(const Var& y, const std::vector<const Var*>& ks, size_t coefficient_count,
                        const char* op) {
  SNN_CHECK(y.defined(), op, ": the state is an undefined Var");
  SNN_CHECK(ks.size() == coefficient_count, op, ": ", ks.size(), " stage Vars but ",
            coefficient_count, " coefficients");
  for (size_t i = 0; i < ks.size(); ++i) {
    SNN_CHECK(ks[i] != nullptr && ks[i]->defined(), op, ": stage ", i, " is null or undefined");
    SNN_CHECK(ks[i]->shape() == y.shape(), op, ": stage ", i, " has shape ",
              shape_str(ks[i]->shape()), ", the state has shape ", shape_str(y.shape()),
              " (does the right-hand side return the state's shape?)");
  }
}

std::vector<std::vector<double>> stage_values(const std::vector<const Var*>& ks) {
  std::vector<std::vector<double>> values;
  values.reserve(ks.size());
  for (const Var* k : ks) values.push_back(k->value().to_vector());
  return values;
}

}  // namespace

Var lincomb(const Var& y, double h, const std::vector<const Var*>& ks,
            const std::vector<double>& coeffs) {
  // y: [...], ks: m Vars of y's shape -> [...]
  check_stage_shapes(y, ks, coeffs.size(), "lincomb");
  Var out = y;
  for (size_t i = 0; i < ks.size(); ++i) {
    if (coeffs[i] == 0.0) continue;
    out = axpy(out, *ks[i], h * coeffs[i]);  // add(out, mul(k, h·c)) in one pass, same values
  }
  return out;
}

double scaled_rms(const Var& x, const Var& reference, double rtol, double atol) {
  SNN_CHECK(x.defined() && reference.defined(), "scaled_rms: undefined Var");
  SNN_CHECK(x.shape() == reference.shape(), "scaled_rms: x has shape ", shape_str(x.shape()),
            ", reference has shape ", shape_str(reference.shape()));
  return scaled_rms(x.value().to_vector(), reference.value().to_vector(), rtol, atol);
}

double error_ratio(const Var& y0, const Var& y1, double h, const std::vector<const Var*>& ks,
                   const std::vector<double>& err_coeffs, double rtol, double atol) {
  check_stage_shapes(y0, ks, err_coeffs.size(), "error_ratio");
  SNN_CHECK(y1.defined() && y1.shape() == y0.shape(), "error_ratio: y1 must have y0's shape ",
            shape_str(y0.shape()));
  const std::vector<std::vector<double>> values = stage_values(ks);
  std::vector<const std::vector<double>*> pointers;
  for (const auto& v : values) pointers.push_back(&v);
  return error_ratio(y0.value().to_vector(), y1.value().to_vector(), h, pointers, err_coeffs, rtol,
                     atol);
}

}  // namespace stablenn
