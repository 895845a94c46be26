// tests/ch02_gradcheck_ops_test.cpp — every differentiable op against central differences in float64,
// first order (gradcheck) and second order (gradgradcheck) (chapter 2).
//
// Inputs are drawn away from the kinks of the piecewise ops (relu and abs at 0, ties of max/min, the
// bounds of clamp), where the derivative does not exist and finite differences would straddle it.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"

namespace stablenn {
namespace {

// Entries in +-[0.2, 1.2], random signs: at least 0.2 from 0.
Tensor away_from_zero(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  Tensor magnitude = gen.uniform(shape, 0.2, 1.2, DType::Float64);
  Tensor sign = sub(mul(gen.bernoulli(shape, 0.5, DType::Float64), 2.0), 1.0);
  return mul(magnitude, sign);
}

Tensor normal(const Shape& shape, uint64_t seed, double scale = 1.0) {
  Generator gen(seed);
  return gen.normal(shape, 0.0, scale, DType::Float64);
}

Tensor positive(const Shape& shape, uint64_t seed) {
  Generator gen(seed);
  return gen.uniform(shape, 0.5, 2.0, DType::Float64);
}

// A random permutation of evenly spaced values: distinct entries at least `gap` apart (no ties for
// max/min/sort), centred on `offset`.
Tensor distinct(const Shape& shape, uint64_t seed, double gap = 0.1, double offset = 0.0) {
  Generator gen(seed);
  const int64_t n = shape_numel(shape);
  std::vector<int64_t> perm = gen.permutation(n);
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = offset + (static_cast<double>(perm[i]) - n / 2.0) * gap;
  return Tensor::from_vector(values, shape, DType::Float64);
}

struct OpCase {
  std::string name;
  VarFunction f;
  std::vector<Tensor> inputs;
  bool second_order = true;  // run gradgradcheck as well
  GradcheckOptions options{};
};

std::vector<OpCase> op_cases() {
  const Shape s23{2, 3};
  std::vector<OpCase> cases = {
      // ---- binary, with broadcasting ----
      {"add", [](const std::vector<Var>& v) { return add(v[0], v[1]); }, {normal(s23, 1), normal({3}, 2)}},
      {"axpy", [](const std::vector<Var>& v) { return axpy(v[0], v[1], -0.375); }, {normal(s23, 11), normal(s23, 12)}},
      {"axpy_unit_step", [](const std::vector<Var>& v) { return axpy(v[0], v[1], 1.0); }, {normal(s23, 13), normal(s23, 14)}},
      {"sub", [](const std::vector<Var>& v) { return sub(v[0], v[1]); }, {normal({2, 1}, 3), normal(s23, 4)}},
      {"mul", [](const std::vector<Var>& v) { return mul(v[0], v[1]); }, {normal(s23, 5), normal({2, 1}, 6)}},
      {"div", [](const std::vector<Var>& v) { return div(v[0], v[1]); }, {normal(s23, 7), away_from_zero({3}, 8)}},
      {"pow", [](const std::vector<Var>& v) { return pow(v[0], v[1]); }, {positive(s23, 9), normal(s23, 10)}},
      {"maximum", [](const std::vector<Var>& v) { return maximum(v[0], v[1]); }, {distinct(s23, 11), distinct({3}, 12, 0.13, 0.033)}},
      {"minimum", [](const std::vector<Var>& v) { return minimum(v[0], v[1]); }, {distinct(s23, 13), distinct({2, 1}, 14, 0.17, 0.033)}},
      {"where", [](const std::vector<Var>& v) {
         return where(Tensor::from_vector({1, 0, 1}, {3}, DType::Float64), v[0], v[1]); },
       {normal(s23, 15), normal({2, 1}, 16)}},
      {"clamp", [](const std::vector<Var>& v) { return clamp(v[0], -0.5, 0.5); },
       {Tensor::from_vector({-0.9, -0.3, 0.1, 0.45, 0.8, -0.7}, s23, DType::Float64)}},
      // ---- scalar forms ----
      {"scalar_forms", [](const std::vector<Var>& v) {
         return (v[0] + 1.5) * 2.0 - 0.5 + (3.0 - v[0]) / 4.0 + 2.0 / v[0] + (1.0 + v[0]) - v[0] / 3.0; },
       {away_from_zero(s23, 17)}},
      {"pow_scalar", [](const std::vector<Var>& v) { return pow(v[0], 2.5); }, {positive(s23, 18)}},
      // ---- unary ----
      {"neg", [](const std::vector<Var>& v) { return -v[0]; }, {normal(s23, 19)}},
      {"abs", [](const std::vector<Var>& v) { return abs(v[0]); }, {away_from_zero(s23, 20)}},
      {"exp", [](const std::vector<Var>& v) { return exp(v[0]); }, {normal(s23, 21)}},
      {"log", [](const std::vector<Var>& v) { return log(v[0]); }, {positive(s23, 22)}},
      {"sqrt", [](const std::vector<Var>& v) { return sqrt(v[0]); }, {positive(s23, 23)}},
      {"square", [](const std::vector<Var>& v) { return square(v[0]); }, {normal(s23, 24)}},
      {"reciprocal", [](const std::vector<Var>& v) { return reciprocal(v[0]); }, {away_from_zero(s23, 25)}},
      {"sin", [](const std::vector<Var>& v) { return sin(v[0]); }, {normal(s23, 26)}},
      {"cos", [](const std::vector<Var>& v) { return cos(v[0]); }, {normal(s23, 27)}},
      // ---- activations ----
      {"relu", [](const std::vector<Var>& v) { return relu(v[0]); }, {away_from_zero(s23, 28)}},
      {"leaky_relu", [](const std::vector<Var>& v) { return leaky_relu(v[0], 0.1); }, {away_from_zero(s23, 29)}},
      {"tanh", [](const std::vector<Var>& v) { return tanh(v[0]); }, {normal(s23, 30)}},
      {"sigmoid", [](const std::vector<Var>& v) { return sigmoid(v[0]); }, {normal(s23, 31)}},
      {"softplus", [](const std::vector<Var>& v) { return softplus(v[0]); }, {normal(s23, 32, 3.0)}},
      {"elu", [](const std::vector<Var>& v) { return elu(v[0], 0.7); }, {away_from_zero(s23, 33)}},
      {"slope_restricted", [](const std::vector<Var>& v) { return slope_restricted(v[0], 0.3); }, {normal(s23, 98, 3.0)}},
      {"slope_restricted_gate", [](const std::vector<Var>& v) { return slope_restricted_gate(v[0], v[1], 0.3); },
       {normal(s23, 99), normal(s23, 100, 3.0)}},
      // ---- reductions ----
      {"sum_axes", [](const std::vector<Var>& v) { return sum(v[0], {0, 2}); }, {normal({2, 3, 2}, 34)}},
      {"sum_all_keepdim", [](const std::vector<Var>& v) { return sum(v[0], {}, true); }, {normal(s23, 35)}},
      {"mean", [](const std::vector<Var>& v) { return mean(v[0], {-1}, true); }, {normal({2, 3, 2}, 36)}},
      {"amax", [](const std::vector<Var>& v) { return amax(v[0], {1}); }, {distinct({2, 3, 2}, 37)}},
      {"amin", [](const std::vector<Var>& v) { return amin(v[0], {}); }, {distinct(s23, 38)}},
      {"var", [](const std::vector<Var>& v) { return var(v[0], {1}, 1); }, {normal({2, 4}, 39)}},
      {"var_all_keepdim", [](const std::vector<Var>& v) { return var(v[0], {}, 0, true); }, {normal(s23, 40)}},
      {"sum_to", [](const std::vector<Var>& v) { return sum_to(v[0], {3, 1}); }, {normal({2, 3, 2}, 41)}},
      // ---- softmax family ----
      {"logsumexp", [](const std::vector<Var>& v) { return logsumexp(v[0], 1); }, {normal({2, 4}, 42)}},
      {"logsumexp_keepdim", [](const std::vector<Var>& v) { return logsumexp(v[0], 0, true); }, {normal({3, 2}, 43)}},
      {"softmax", [](const std::vector<Var>& v) { return softmax(v[0], -1); }, {normal({2, 4}, 44)}},
      {"log_softmax", [](const std::vector<Var>& v) { return log_softmax(v[0], 0); }, {normal({3, 2}, 45)}},
      // ---- views and joining (multiplied by the input so the second derivative is not trivially 0) ----
      {"reshape", [](const std::vector<Var>& v) { return reshape(v[0], {3, -1}) * reshape(v[0], {3, 2}); }, {normal(s23, 46)}},
      {"flatten", [](const std::vector<Var>& v) { return flatten(v[0], 1, 2); }, {normal({2, 2, 3}, 47)}},
      {"permute", [](const std::vector<Var>& v) { return permute(v[0], {2, 0, 1}); }, {normal({2, 3, 2}, 48)}},
      {"transpose", [](const std::vector<Var>& v) { return transpose(v[0], 0, -1) * t(v[1]); }, {normal({3, 2}, 49), normal({3, 2}, 50)}},
      {"slice_step", [](const std::vector<Var>& v) { return slice(v[0], 1, 0, 5, 2) * slice(v[0], 1, -3, 5); }, {normal({2, 5}, 51)}},
      {"narrow_select", [](const std::vector<Var>& v) { return narrow(v[0], 0, 1, 2) + select(v[0], 1, -1); }, {normal({3, 3}, 52)}},
      {"expand", [](const std::vector<Var>& v) { return expand(v[0], {2, 3, 4}) * expand(v[0], {2, 3, 4}); }, {normal({3, 1}, 53)}},
      {"squeeze_unsqueeze", [](const std::vector<Var>& v) { return unsqueeze(squeeze(v[0], 1), 0); }, {normal({2, 1, 3}, 54)}},
      {"squeeze_all", [](const std::vector<Var>& v) { return squeeze(v[0]) * squeeze(v[0]); }, {normal({1, 3, 1, 2}, 94)}},
      {"contiguous_clone", [](const std::vector<Var>& v) { return contiguous(t(v[0])) * clone(t(v[0])); }, {normal(s23, 55)}},
      {"concat", [](const std::vector<Var>& v) { return concat({v[0], v[1] * v[1], v[0]}, 1); }, {normal({2, 2}, 56), normal({2, 3}, 57)}},
      {"stack", [](const std::vector<Var>& v) { return stack({v[0], v[1] * v[0]}, 1); }, {normal(s23, 58), normal(s23, 59)}},
      // ---- matmul: matrices, vectors, broadcast batches ----
      {"matmul", [](const std::vector<Var>& v) { return matmul(v[0], v[1]); }, {normal({2, 3}, 60), normal({3, 4}, 61)}},
      {"matmul_vectors", [](const std::vector<Var>& v) { return matmul(v[1], v[2]) * v[0] + matmul(matmul(v[0], v[1]), v[2]); },
       {normal({3}, 62), normal({3, 2}, 63), normal({2}, 64)}},
      {"matmul_batched", [](const std::vector<Var>& v) { return matmul(v[0], v[1]); }, {normal({2, 2, 3}, 65), normal({3, 2}, 66)}},
      {"matmul_broadcast", [](const std::vector<Var>& v) { return matmul(v[0], v[1]); }, {normal({2, 3}, 67), normal({2, 1, 3, 2}, 68)}},
      {"linear", [](const std::vector<Var>& v) { return linear(v[0], v[1], v[2]); },
       {normal({2, 2, 3}, 85), normal({4, 3}, 86), normal({4}, 87)}},
      {"linear_vector_nobias", [](const std::vector<Var>& v) { return linear(v[0], v[1], Var()) * select(v[0], 0, 0); },
       {normal({3}, 88), normal({2, 3}, 89)}},
      // ---- convolution and its adjoints ----
      {"conv2d", [](const std::vector<Var>& v) { return conv2d(v[0], v[1], v[2], 1, 1); },
       {normal({1, 2, 4, 4}, 69), normal({3, 2, 3, 3}, 70), normal({3}, 71)}},
      {"conv2d_stride2_nobias", [](const std::vector<Var>& v) { return conv2d(v[0], v[1], Var(), 2, 1); },
       {normal({2, 1, 5, 5}, 72), normal({2, 1, 3, 3}, 73)}},
      {"conv2d_input_adjoint", [](const std::vector<Var>& v) { return conv2d_input_adjoint(v[0], v[1], {5, 5}, 2, 1); },
       {normal({1, 2, 3, 3}, 74), normal({2, 2, 3, 3}, 75)}},
      {"conv2d_weight_adjoint", [](const std::vector<Var>& v) { return conv2d_weight_adjoint(v[0], v[1], {3, 3}, 1, 1); },
       {normal({1, 2, 4, 4}, 76), normal({1, 2, 4, 4}, 77)}},
      // ---- pooling ----
      {"avg_pool2d", [](const std::vector<Var>& v) { return avg_pool2d(v[0], 2, 2) * avg_pool2d(v[0], 2, 2); }, {normal({1, 2, 4, 4}, 78)}},
      {"avg_pool2d_padded", [](const std::vector<Var>& v) { return avg_pool2d(v[0], 3, 2, 1); }, {normal({1, 1, 5, 5}, 79)}},
      {"avg_pool2d_adjoint", [](const std::vector<Var>& v) { return avg_pool2d_adjoint(v[0], {4, 4}, 2, 2); }, {normal({1, 2, 2, 2}, 80)}},
      {"max_pool2d", [](const std::vector<Var>& v) { return max_pool2d(v[0], 2, 2) * max_pool2d(v[0], 2, 2); }, {distinct({1, 2, 4, 4}, 81)}},
      {"max_pool2d_overlap_pad", [](const std::vector<Var>& v) { return max_pool2d(v[0], 3, 2, 1); }, {distinct({2, 1, 5, 5}, 82)}},
      // ---- GroupSort ----
      {"maxmin", [](const std::vector<Var>& v) { return maxmin(v[0], 1) * v[0]; }, {distinct({2, 4, 2}, 83)}},
      {"group_sort", [](const std::vector<Var>& v) { return group_sort(v[0], 3, -1) * v[0]; }, {distinct({2, 6}, 84)}},
      // max_pool2d's gather is reached by differentiating its scatter, i.e. only at third order above.
      {"max_pool2d_scatter_gather", [](const std::vector<Var>& v) {
         const Tensor indices = Tensor::from_int64({5, 2, 13, 11}, {1, 1, 2, 2});
         return max_pool2d_gather(max_pool2d_scatter(v[0], indices, {4, 4}) * v[1], indices); },
       {normal({1, 1, 2, 2}, 95), normal({1, 1, 4, 4}, 96)}},
      // ---- dtype: a round trip through float32 (eps large enough that float32 rounding, ~6e-8, is
      // small against it; the function is quadratic, so central differences have no truncation error) ----
      {"cast_float32_roundtrip", [](const std::vector<Var>& v) { return cast(cast(v[0], DType::Float32), DType::Float64) * v[0]; },
       {normal(s23, 97)}, true, GradcheckOptions{1e-2, 1e-4, 1e-4}},
  };
  return cases;
}

// gtest prints a case by its name rather than as raw bytes.
void PrintTo(const OpCase& c, std::ostream* os) { *os << c.name; }

class Ch02OpGradients : public ::testing::TestWithParam<OpCase> {};

TEST_P(Ch02OpGradients, GradcheckMatchesCentralDifferences) {
  const OpCase& c = GetParam();
  const GradcheckResult r = gradcheck(c.f, c.inputs, c.options);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.report;
}

TEST_P(Ch02OpGradients, GradgradcheckMatchesCentralDifferences) {
  const OpCase& c = GetParam();
  if (!c.second_order) GTEST_SKIP() << c.name << " is not used in second-order paths";
  const GradcheckResult r = gradgradcheck(c.f, c.inputs, c.options);
  EXPECT_TRUE(r.ok) << c.name << ": " << r.report;
}

INSTANTIATE_TEST_SUITE_P(AllOps, Ch02OpGradients, ::testing::ValuesIn(op_cases()),
                         [](const ::testing::TestParamInfo<OpCase>& param_info) { return param_info.param.name; });

// ---- every op the library records has a finite-difference check ----

// The op names of the derivative index in ARCHITECTURE.md. scripts/derivative_index.sh writes it from
// the record() calls of the sources, and the ctest `derivative_index` fails when it is not current, so
// this is the list of ops the library records.
std::set<std::string> indexed_ops() {
  const std::string path = std::string(STABLENN_SOURCE_DIR) + "/ARCHITECTURE.md";
  std::ifstream in(path);
  if (!in) ADD_FAILURE() << "cannot read " << path;
  std::set<std::string> ops;
  bool inside = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("<!-- derivative-index: begin", 0) == 0) inside = true;
    if (line.rfind("<!-- derivative-index: end", 0) == 0) inside = false;
    if (inside && line.rfind("| `", 0) == 0) ops.insert(line.substr(3, line.find('`', 3) - 3));
  }
  return ops;
}

// The ops on the graph that produced `root` (its whole history, inputs first or not).
void collect_ops(const Var& root, std::set<std::string>& ops) {
  std::vector<const Node*> todo;
  std::set<const Node*> seen;
  if (root.defined() && root.impl()->grad_fn) todo.push_back(root.impl()->grad_fn.get());
  while (!todo.empty()) {
    const Node* node = todo.back();
    todo.pop_back();
    if (!seen.insert(node).second) continue;
    ops.insert(node->op);
    for (const Var& in : node->inputs)
      if (in.defined() && in.impl()->grad_fn) todo.push_back(in.impl()->grad_fn.get());
  }
}

// An op whose gradient check lives in another chapter's tests: the test's body must call gradcheck
// and contain `token` (what makes it exercise the op).
struct CheckedElsewhere {
  const char* op;
  const char* file;
  const char* test;
  const char* token;
};

// The body of TEST(suite, name) in a test file, up to the next TEST; empty when absent.
std::string test_body(const std::string& file, const std::string& name) {
  std::ifstream in(std::string(STABLENN_SOURCE_DIR) + "/" + file);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  const size_t start = s.find(", " + name + ")");
  if (start == std::string::npos) return "";
  const size_t end = s.find("\nTEST", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// An op's rule is compared with finite differences when the op lies on the graph of a function given
// to gradcheck (first order), or on the graph of the vector-Jacobian product gradgradcheck checks
// (second order: the ops the backward rules themselves record, such as relu_gate or slice_adjoint).
TEST(Ch02Gradcheck, EveryRecordedOpHasAFiniteDifferenceCheck) {
  std::set<std::string> checked;
  for (const OpCase& c : op_cases()) {
    std::vector<Var> x;
    for (const Tensor& t : c.inputs) x.push_back(Var(t.to(DType::Float64), true));
    const Var y = c.f(x);
    collect_ops(y, checked);
    if (!c.second_order) continue;
    const Var v(normal(y.shape(), 7), true);  // gradgradcheck differentiates by v as well
    GradOptions options;
    options.create_graph = true;
    options.allow_unused = true;
    for (const Var& g : grad({y}, x, {v}, options)) collect_ops(g, checked);
  }
  const std::vector<CheckedElsewhere> elsewhere = {
      {"odeint_adjoint", "tests/ch05_neural_ode_test.cpp", "AdjointMatchesFiniteDifferencesOfAFineSolve",
       "GradientMethod::kAdjoint"},
  };
  for (const CheckedElsewhere& e : elsewhere) {
    const std::string body = test_body(e.file, e.test);
    EXPECT_NE(body.find("gradcheck("), std::string::npos) << e.op << ": " << e.file << " has no test " << e.test
                                                          << " calling gradcheck";
    EXPECT_NE(body.find(e.token), std::string::npos) << e.op << ": " << e.file << ", test " << e.test
                                                     << " does not use " << e.token;
    checked.insert(e.op);
  }
  const std::set<std::string> ops = indexed_ops();
  EXPECT_GE(ops.size(), 60u) << "the derivative index of ARCHITECTURE.md looks truncated";
  for (const std::string& op : ops)
    EXPECT_TRUE(checked.count(op)) << "the op '" << op << "' is recorded (see the derivative index of "
                                   << "ARCHITECTURE.md) but no gradient check exercises it: add a case to "
                                   << "op_cases() in this file (or, when another chapter's tests check it, "
                                   << "an entry to `elsewhere`)";
}

// The example in autodiff/node.h's header comment, compiled here; the test below checks that the
// comment still shows these lines, so the example cannot drift from the API again.
Var node_h_example_exp(const Var& x) {
    return record("exp", exp(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {
      return grads(c.grad * c.output);   // d exp(x) = exp(x) dx
    });
}

TEST(Ch02Gradcheck, TheExampleInNodeHCompilesAndIsRight) {
  std::ifstream in(std::string(STABLENN_SOURCE_DIR) + "/autodiff/node.h");
  std::stringstream text;
  text << in.rdbuf();
  for (const char* line : {
           "//     return record(\"exp\", exp(x.value()), {x}, Saves::output_only(), [](const BackwardContext& c) {",
           "//       return grads(c.grad * c.output);   // d exp(x) = exp(x) dx"})
    EXPECT_NE(text.str().find(line), std::string::npos) << "autodiff/node.h no longer shows: " << line;
  const VarFunction f = [](const std::vector<Var>& v) { return node_h_example_exp(v[0]); };
  EXPECT_TRUE(gradcheck(f, {normal({3}, 98)}).ok);
  EXPECT_TRUE(gradgradcheck(f, {normal({3}, 98)}).ok);
}

// ---- the checkers themselves must be able to fail ----

// square with a forgotten factor 2 in its rule.
Var wrong_square(const Var& x) {
  return record("wrong_square", square(x.value()), {x}, Saves::inputs(),
                [](const BackwardContext& c) { return grads(c.grad * c.inputs[0]); });
}

// exp whose rule uses the output as a constant: first derivative right, second derivative wrong.
Var first_order_only_exp(const Var& x) {
  return record("first_order_only_exp", exp(x.value()), {x}, Saves::output_only(),
                [](const BackwardContext& c) { return grads(c.grad * Var(c.output.value())); });
}

TEST(Ch02Gradcheck, DetectsAWrongFirstDerivative) {
  const GradcheckResult r = gradcheck([](const std::vector<Var>& v) { return wrong_square(v[0]); }, {normal({3}, 90)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("input#0"), std::string::npos) << r.report;
}

TEST(Ch02Gradcheck, DetectsAWrongSecondDerivativeThatGradcheckMisses) {
  const VarFunction f = [](const std::vector<Var>& v) { return first_order_only_exp(v[0]); };
  EXPECT_TRUE(gradcheck(f, {normal({3}, 91)}).ok);
  const GradcheckResult r = gradgradcheck(f, {normal({3}, 91)});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("gradgradcheck"), std::string::npos) << r.report;
}

TEST(Ch02Gradcheck, RejectsAFunctionThatDropsToFloat32) {
  const VarFunction f = [](const std::vector<Var>& v) { return Var(v[0].value().to(DType::Float32)); };
  EXPECT_THROW(gradcheck(f, {normal({2}, 92)}), Error);
}

// GroupSort's pairs are MaxMin, and its forward agrees with a plain sort of each group.
TEST(Ch02GroupSort, PairsAreMaxMinAndGroupsAreSortedDescending) {
  const Tensor x = normal({3, 6, 2}, 93);
  EXPECT_EQ(max_abs_diff(group_sort(Var(x), 2, 1).value(), maxmin(Var(x), 1).value()), 0.0);
  const Tensor y = group_sort(Var(x), 3, 1).value();
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t c = 0; c < 2; ++c)
      for (int64_t g = 0; g < 2; ++g) {
        std::vector<double> expected;
        for (int64_t k = 0; k < 3; ++k) expected.push_back(x.at({a, 3 * g + k, c}));
        std::sort(expected.rbegin(), expected.rend());
        for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(y.at({a, 3 * g + k, c}), expected[k]);
      }
  EXPECT_THROW(maxmin(Var(x), 0), Error);        // odd axis
  EXPECT_THROW(group_sort(Var(x), 4, 1), Error);  // 6 is not a multiple of 4
}

}  // namespace
}  // namespace stablenn

namespace stablenn {

TEST(Ch02Gradcheck, AxpyGivesTheValuesOfAddOfMulBitForBit) {
  // the fused update replaces add(y, mul(x, alpha)) in the ODE steps and residual blocks
  Generator g(21);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    const Tensor y = g.normal({5, 33}, 0, 1, dtype), x = g.normal({5, 33}, 0, 1, dtype);
    for (double alpha : {1.0, -0.1, 1.0 / 3.0}) {
      const Tensor fused = axpy(Var(y), Var(x), alpha).value(), plain = add(y, mul(x, alpha));
      const Tensor strided = axpy(Var(y.t().contiguous().t()), Var(x), alpha).value();  // not contiguous
      EXPECT_EQ(fused.to_vector(), plain.to_vector()) << dtype_name(dtype) << " alpha " << alpha;
      EXPECT_EQ(strided.to_vector(), plain.to_vector()) << dtype_name(dtype) << " alpha " << alpha;
    }
  }
}

}  // namespace stablenn
