// tests/ch02_pytorch_fixtures_test.cpp — composite functions against PyTorch (chapter 2).
// The fixtures (tests/fixtures/*.snnfix) hold inputs, outputs and gradients computed by PyTorch 1.13 in
// float64 by tests/fixtures/make_fixtures.py; here the same functions run on the tape.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "autodiff/autodiff.h"
#include "core/stablenn_core.h"
#include "tests/fixtures/fixture_file.h"

namespace stablenn {
namespace {

using fixtures::FixtureFile;

std::string fixture_path(const std::string& name) {
  return std::string(STABLENN_SOURCE_DIR) + "/tests/fixtures/" + name + ".snnfix";
}

// One-hot rows of the labels: [n] Int64 -> [n, classes] in `dtype`.
Tensor one_hot(const Tensor& labels, int64_t classes, DType dtype) {
  Tensor out = Tensor::zeros({labels.numel(), classes}, dtype);
  const std::vector<int64_t> l = labels.to_int64();
  for (size_t i = 0; i < l.size(); ++i) out.set({static_cast<int64_t>(i), l[i]}, 1.0);
  return out;
}

// Mean negative log-likelihood of log-probabilities [n, classes].
Var nll(const Var& logp, const Tensor& labels) {
  return -mean(sum(logp * Var(one_hot(labels, logp.size(1), logp.dtype())), {1}));
}

Var cross_entropy(const Var& logits, const Tensor& labels) { return nll(log_softmax(logits, 1), labels); }

// Relative closeness scaled by the reference's largest entry (gradients of tiny entries are fine).
void expect_close(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const Tensor w = want.to(DType::Float64);
  const double scale = std::max(1.0, max_abs_diff(w, Tensor::zeros(w.shape(), DType::Float64)));
  EXPECT_LE(max_abs_diff(got.to(DType::Float64), w), tol * scale) << what;
}

Var param(const FixtureFile& f, const std::string& name, DType dtype) {
  return Var(f.get(name).to(dtype), true).set_name(name);
}

class Ch02PyTorch : public ::testing::TestWithParam<DType> {
 protected:
  DType dtype() const { return GetParam(); }
  double tol() const { return dtype() == DType::Float64 ? 1e-10 : 2e-5; }
};

TEST_P(Ch02PyTorch, MlpWithCrossEntropy) {
  const FixtureFile f(fixture_path("mlp_cross_entropy"));
  Var x = param(f, "x", dtype()), w1 = param(f, "w1", dtype()), b1 = param(f, "b1", dtype());
  Var w2 = param(f, "w2", dtype()), b2 = param(f, "b2", dtype());
  Var logits = matmul(relu(matmul(x, t(w1)) + b1), t(w2)) + b2;
  Var loss = cross_entropy(logits, f.get("labels"));
  expect_close(logits.value(), f.get("logits"), tol(), "logits");
  expect_close(loss.value(), f.get("loss"), tol(), "loss");
  backward(loss);
  expect_close(x.grad().value(), f.get("grad_x"), tol(), "grad_x");
  expect_close(w1.grad().value(), f.get("grad_w1"), tol(), "grad_w1");
  expect_close(b1.grad().value(), f.get("grad_b1"), tol(), "grad_b1");
  expect_close(w2.grad().value(), f.get("grad_w2"), tol(), "grad_w2");
  expect_close(b2.grad().value(), f.get("grad_b2"), tol(), "grad_b2");
}

TEST_P(Ch02PyTorch, SmallConvNet) {
  const FixtureFile f(fixture_path("conv_net"));
  Var x = param(f, "x", dtype()), c1w = param(f, "c1w", dtype()), c1b = param(f, "c1b", dtype());
  Var c2w = param(f, "c2w", dtype()), c2b = param(f, "c2b", dtype());
  Var fw = param(f, "fw", dtype()), fb = param(f, "fb", dtype());
  Var h = max_pool2d(relu(conv2d(x, c1w, c1b, 1, 1)), 2, 2);
  h = avg_pool2d(tanh(conv2d(h, c2w, c2b, 2, 1)), 2, 2);
  Var logp = log_softmax(matmul(flatten(h, 1), t(fw)) + fb, 1);
  Var loss = nll(logp, f.get("labels"));
  expect_close(logp.value(), f.get("logp"), tol(), "logp");
  expect_close(loss.value(), f.get("loss"), tol(), "loss");
  backward(loss);
  for (const Var* v : {&x, &c1w, &c1b, &c2w, &c2b, &fw, &fb})
    expect_close(v->grad().value(), f.get("grad_" + v->name()), tol(), "grad_" + v->name());
}

TEST_P(Ch02PyTorch, SoftmaxChain) {
  const FixtureFile f(fixture_path("softmax_chain"));
  Var x = param(f, "x", dtype()), w = param(f, "w", dtype());
  Var y = softmax(x, 1);
  Var z = log_softmax(3.0 * y + x, 0);
  Var s = logsumexp(z * w, 1);
  Var loss = sum(s * Var(Tensor::from_vector({1, 2, 3, 4}, {4}, dtype())));
  expect_close(s.value(), f.get("s"), tol(), "s");
  expect_close(loss.value(), f.get("loss"), tol(), "loss");
  backward(loss);
  expect_close(x.grad().value(), f.get("grad_x"), tol(), "grad_x");
  expect_close(w.grad().value(), f.get("grad_w"), tol(), "grad_w");
}

TEST_P(Ch02PyTorch, HessianVectorProducts) {
  const FixtureFile f(fixture_path("hessian_vector"));
  const DType dt = dtype();
  // 1) f(x) = sum(softplus(A x)) + 0.5 x^T B x + sum(tanh(x)^2).
  const Var a(f.get("a").to(dt)), b(f.get("b").to(dt));
  const VarFunction fx = [&](const std::vector<Var>& v) {
    const Var& x = v[0];
    return sum(softplus(matmul(a, x))) + 0.5 * matmul(x, matmul(b, x)) + sum(square(tanh(x)));
  };
  const HvpResult r = hvp(fx, {Var(f.get("x").to(dt))}, {Var(f.get("v").to(dt))});
  expect_close(r.output.value(), f.get("f"), tol(), "f");
  expect_close(r.gradient[0].value(), f.get("grad"), tol(), "grad");
  expect_close(r.hvp[0].value(), f.get("hv"), tol(), "hv");

  // 2) an MLP's cross-entropy, H v with respect to both weight matrices.
  const Var xs(f.get("mlp_x").to(dt));
  const Tensor labels = f.get("mlp_labels");
  const VarFunction loss = [&](const std::vector<Var>& w) {
    return cross_entropy(matmul(tanh(matmul(xs, t(w[0]))), t(w[1])), labels);
  };
  const HvpResult m = hvp(loss, {Var(f.get("mlp_w1").to(dt)), Var(f.get("mlp_w2").to(dt))},
                          {Var(f.get("mlp_v1").to(dt)), Var(f.get("mlp_v2").to(dt))});
  expect_close(m.output.value(), f.get("mlp_loss"), tol(), "mlp_loss");
  expect_close(m.hvp[0].value(), f.get("mlp_hv1"), tol(), "mlp_hv1");
  expect_close(m.hvp[1].value(), f.get("mlp_hv2"), tol(), "mlp_hv2");

  // 3) gradient penalty ||d/dz sum(sigmoid(W z))||^2 and its gradient in W (create_graph).
  Var w = param(f, "gp_w", dt), z = param(f, "gp_z", dt);
  GradOptions keep;
  keep.create_graph = true;
  const Var gz = grad({sum(sigmoid(matmul(w, z)))}, {z}, {}, keep)[0];
  const Var penalty = sum(square(gz));
  expect_close(penalty.value(), f.get("gp_penalty"), tol(), "gp_penalty");
  expect_close(grad({penalty}, {w})[0].value(), f.get("gp_grad_w"), tol(), "gp_grad_w");
}

INSTANTIATE_TEST_SUITE_P(Dtypes, Ch02PyTorch, ::testing::Values(DType::Float64, DType::Float32),
                         [](const ::testing::TestParamInfo<DType>& param_info) {
                           return std::string(dtype_name(param_info.param));
                         });

// ---- the fixture reader rejects broken files with the file's name ----

TEST(Ch02Fixtures, ReaderRejectsMissingTruncatedAndForeignFiles) {
  const std::string good = fixture_path("softmax_chain");
  std::ifstream in(good, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 100u);
  const std::string dir = ::testing::TempDir();
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(dir + name, std::ios::binary) << content;
    return dir + name;
  };
  const std::string truncated = write("ch02_truncated.snnfix", bytes.substr(0, bytes.size() - 9));
  const std::string foreign = write("ch02_foreign.snnfix", "PK\x03\x04 not a fixture at all");
  for (const std::string& path : {truncated, foreign, dir + "ch02_missing.snnfix"}) {
    try {
      FixtureFile f(path);
      ADD_FAILURE() << "no error for " << path;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
  }
  EXPECT_THROW(FixtureFile(good).get("no_such_tensor"), Error);
}

}  // namespace
}  // namespace stablenn
