// ode/linear_solve.h — small dense linear systems by Gaussian elimination (chapter 4).
//
// Newton's method for the implicit methods and the stability function R(z) = 1 + z bᵀ(I − zA)⁻¹1
// both need to solve a few-by-few system; this is the textbook algorithm with partial pivoting,
// dependency-free, for real and complex entries.
#pragma once
#include <complex>
#include <vector>

namespace stablenn {

// Chapter 4: solves M x = rhs for x. matrix: [n*n] row-major; rhs: [n] -> x: [n].
// Throws stablenn::Error (naming `caller`) when M is singular to working precision.
std::vector<double> solve_dense(std::vector<double> matrix, std::vector<double> rhs,
                                const char* caller = "solve_dense");
std::vector<std::complex<double>> solve_dense(std::vector<std::complex<double>> matrix,
                                              std::vector<std::complex<double>> rhs,
                                              const char* caller = "solve_dense");

}  // namespace stablenn
