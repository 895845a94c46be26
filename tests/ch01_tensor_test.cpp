// Chapter 1 tests: storage, shapes, strides and views.
#include <gtest/gtest.h>

#include "tests/ch01_test_util.h"

using namespace stablenn;
using namespace stablenn::testing;

TEST(Ch01Tensor, CreationAndElementAccess) {
  Tensor t = Tensor::from_vector({1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.strides(), (Shape{3, 1}));
  EXPECT_EQ(t.at({1, 2}), 6);
  EXPECT_EQ(t.at({-1, -3}), 4);
  t.set({0, 1}, 9);
  EXPECT_EQ(t.to_vector(), (std::vector<double>{1, 9, 3, 4, 5, 6}));
  EXPECT_EQ(Tensor::eye(3, DType::Float64).at({2, 2}), 1);
  EXPECT_EQ(Tensor::arange(5, DType::Int64).to_int64(), (std::vector<int64_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Tensor::scalar(2.5).dim(), 0);
  EXPECT_EQ(Tensor::scalar(2.5).item(), 2.5);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(Tensor::empty({3}).raw_data()) % 64, 0u);
}

TEST(Ch01Tensor, ViewsShareStorage) {
  Tensor t = Tensor::from_vector({0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, {3, 4}, DType::Float64);
  Tensor tt = t.t();
  EXPECT_TRUE(tt.shares_storage(t));
  EXPECT_FALSE(tt.is_contiguous());
  EXPECT_EQ(tt.shape(), (Shape{4, 3}));
  EXPECT_EQ(tt.at({3, 1}), 7);
  Tensor col = t.select(1, 2);  // column 2: 2, 6, 10
  EXPECT_EQ(col.to_vector(), (std::vector<double>{2, 6, 10}));
  col.set({1}, -1);  // writes through to t
  EXPECT_EQ(t.at({1, 2}), -1);
  Tensor s = t.slice(1, 0, 4, 2);  // columns 0 and 2
  EXPECT_EQ(s.to_vector(), (std::vector<double>{0, 2, 4, -1, 8, 10}));
  EXPECT_EQ(t.narrow(0, 1, 2).to_vector(), (std::vector<double>{4, 5, -1, 7, 8, 9, 10, 11}));
  Tensor c = tt.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(t));
  EXPECT_TRUE(t.contiguous().shares_storage(t));  // already contiguous: no copy
}

TEST(Ch01Tensor, ReshapeIsAViewWhenStridesAllow) {
  Tensor t = Tensor::arange(24).reshape({2, 3, 4});
  Tensor v = t.reshape({6, 4});
  EXPECT_TRUE(v.shares_storage(t));
  EXPECT_EQ(t.reshape({4, -1}).shape(), (Shape{4, 6}));
  // a permuted tensor cannot be flattened without a copy: view throws, reshape copies
  Tensor p = t.permute({2, 0, 1});
  EXPECT_NE(error_of([&] { p.view({24}); }).find("without a copy"), std::string::npos);
  Tensor r = p.reshape({24});
  EXPECT_FALSE(r.shares_storage(t));
  std::vector<double> expect;
  for_each_index(p.shape(), [&](const Shape& i) { expect.push_back(p.at(i)); });
  EXPECT_EQ(r.to_vector(), expect);
  // splitting one axis of a strided view is still a view
  Tensor s = t.slice(2, 0, 4, 2);  // [2, 3, 2], strides [12, 4, 2]
  Tensor sv = s.reshape({6, 2});
  EXPECT_TRUE(sv.shares_storage(t));
  EXPECT_EQ(sv.at({5, 1}), t.at({1, 2, 2}));
  EXPECT_EQ(t.flatten(1).shape(), (Shape{2, 12}));
}

TEST(Ch01Tensor, RandomReshapesMatchRowMajorOrder) {
  Generator g(7);
  for (int trial = 0; trial < 200; ++trial) {
    const Shape shape = random_shape(g);
    Tensor x = random_layout(g, shape, DType::Float64);
    const std::vector<double> flat = x.to_vector();
    Shape target = {static_cast<int64_t>(flat.size())};
    if (!flat.empty() && flat.size() % 2 == 0) target = {2, -1};
    Tensor r = x.reshape(target);
    EXPECT_EQ(r.to_vector(), flat);
  }
}

TEST(Ch01Tensor, ExpandSqueezeUnsqueeze) {
  Tensor row = Tensor::from_vector({1, 2, 3}, {1, 3});
  Tensor e = row.expand({4, 3});
  EXPECT_EQ(e.strides(), (Shape{0, 1}));
  EXPECT_EQ(e.at({3, 2}), 3);
  EXPECT_EQ(row.expand({2, 4, 3}).shape(), (Shape{2, 4, 3}));
  EXPECT_EQ(row.squeeze().shape(), (Shape{3}));
  EXPECT_EQ(row.squeeze(0).shape(), (Shape{3}));
  EXPECT_EQ(row.unsqueeze(-1).shape(), (Shape{1, 3, 1}));
  EXPECT_EQ(row.unsqueeze(1).to_vector(), row.to_vector());
  EXPECT_NE(error_of([&] { row.expand({4, 2}); }).find("[1, 3]"), std::string::npos);
  EXPECT_NE(error_of([&] { row.squeeze(1); }).find("squeeze"), std::string::npos);
}

TEST(Ch01Tensor, CopyConvertsAndBroadcasts) {
  Tensor dst = Tensor::zeros({2, 3}, DType::Float64);
  dst.copy_(Tensor::from_vector({1, 2, 3}, {3}, DType::Float32));
  EXPECT_EQ(dst.to_vector(), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  Tensor i = Tensor::from_vector({1.7, -2.2}, {2}).to(DType::Int64);
  EXPECT_EQ(i.to_int64(), (std::vector<int64_t>{1, -2}));
  // copy into a transposed view writes in the right places
  Tensor m = Tensor::zeros({2, 2});
  Tensor mt = m.t();
  mt.copy_(Tensor::from_vector({1, 2, 3, 4}, {2, 2}));
  EXPECT_EQ(m.to_vector(), (std::vector<double>{1, 3, 2, 4}));
}

TEST(Ch01Tensor, ConcatAndStack) {
  Tensor a = Tensor::from_vector({1, 2, 3, 4}, {2, 2});
  Tensor b = Tensor::from_vector({5, 6}, {2, 1});
  Tensor c = concat({a, b, Tensor::zeros({2, 0})}, 1);
  EXPECT_EQ(c.shape(), (Shape{2, 3}));
  EXPECT_EQ(c.to_vector(), (std::vector<double>{1, 2, 5, 3, 4, 6}));
  Tensor s = stack({a, a.t()}, 0);
  EXPECT_EQ(s.shape(), (Shape{2, 2, 2}));
  EXPECT_EQ(s.at({1, 0, 1}), 3);
  EXPECT_EQ(stack({a, a}, -1).shape(), (Shape{2, 2, 2}));
  const std::string msg = error_of([&] { concat({a, b}, 0); });
  EXPECT_NE(msg.find("concat"), std::string::npos);
  EXPECT_NE(msg.find("[2, 1]"), std::string::npos);
}

TEST(Ch01Tensor, PrintingIsReadable) {
  Tensor t = Tensor::from_vector({1, 2.5, -3, 4}, {2, 2});
  const std::string s = t.str();
  EXPECT_NE(s.find("[[ 1.0000,  2.5000],\n [-3.0000,  4.0000]]"), std::string::npos) << s;
  EXPECT_NE(s.find("shape=[2, 2]"), std::string::npos);
  EXPECT_NE(s.find("float32"), std::string::npos);
  const std::string big = Tensor::zeros({100, 100}).str();
  EXPECT_NE(big.find("..."), std::string::npos);
  EXPECT_LT(big.size(), 2000u);  // summarised, not 10,000 numbers
}

TEST(Ch01Tensor, BadIndicesAndAxesNameTheProblem) {
  Tensor t = Tensor::zeros({2, 3});
  std::string msg = error_of([&] { t.at({2, 0}); });
  EXPECT_NE(msg.find("index 2 is out of range for axis 0 of size 2"), std::string::npos) << msg;
  msg = error_of([&] { t.transpose(0, 2); });
  EXPECT_NE(msg.find("axis 2 is out of range"), std::string::npos) << msg;
  msg = error_of([&] { t.reshape({4, 2}); });
  EXPECT_NE(msg.find("cannot reshape [2, 3]"), std::string::npos) << msg;
  msg = error_of([&] { t.permute({0, 0}); });
  EXPECT_NE(msg.find("repeated"), std::string::npos) << msg;
  msg = error_of([&] { t.data<double>(); });
  EXPECT_NE(msg.find("float32"), std::string::npos) << msg;
}
