// tests/ch03_safetensors_test.cpp — the safetensors format (chapter 3): bit-exact round trips, a
// file built byte by byte from the specification, and every kind of corruption rejected with its
// message. (The Python `safetensors` package is not installed on this machine, so compatibility
// is checked against the specification's bytes rather than against the package.)
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <limits>
#include <string>

#include "core/error.h"
#include "core/random.h"
#include "core/tensor.h"
#include "io/safetensors.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

template <class F>
void expect_error_containing(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "expected an error containing: " << needle;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

// The bytes of a contiguous copy of t.
std::vector<uint8_t> raw_bytes(const Tensor& t) {
  const Tensor c = t.contiguous();
  const size_t n = static_cast<size_t>(c.numel()) * dtype_size(c.dtype());
  std::vector<uint8_t> out(n);
  if (n > 0) std::memcpy(out.data(), c.raw_data(), n);
  return out;
}

// A file from a header text and data bytes: 8-byte little-endian length, header, data.
std::vector<uint8_t> build_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> bytes(8 + header.size() + data.size());
  for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint8_t>(uint64_t(header.size()) >> (8 * b));
  std::copy(header.begin(), header.end(), bytes.begin() + 8);
  std::copy(data.begin(), data.end(),
            bytes.begin() + 8 + static_cast<std::ptrdiff_t>(header.size()));
  return bytes;
}

SafetensorsContent decode(const std::vector<uint8_t>& bytes) {
  return decode_safetensors(bytes.data(), bytes.size(), "test.safetensors");
}

// Checks that decoding the header + data fails with a message that names the file and `needle`.
void expect_corrupt(const std::string& header, const std::vector<uint8_t>& data,
                    const std::string& needle) {
  expect_error_containing([&] { decode(build_file(header, data)); }, needle);
  expect_error_containing([&] { decode(build_file(header, data)); }, "test.safetensors: ");
}

TEST(Safetensors, FileMatchesTheSpecificationByteForByte) {
  // Hand-built from the specification: the JSON header (139 bytes) is padded with 5 spaces to
  // 144 = 0x90 bytes; then 1.0f = 00 00 80 3f, -2.0f = 00 00 00 c0, and int64 258 = 02 01 00 ...
  // 00.
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"I64","shape":[1],"data_offsets":[8,16]}}     )";
  ASSERT_EQ(header.size(), 144u);
  std::vector<uint8_t> expected = {0x90, 0, 0, 0, 0, 0, 0, 0};
  expected.insert(expected.end(), header.begin(), header.end());
  for (uint8_t byte :
       {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 0x02, 0x01, 0, 0, 0, 0, 0, 0}) {
    expected.push_back(byte);
  }
  const std::vector<uint8_t> encoded = encode_safetensors(
      {{"a", Tensor::from_floats({1.0f, -2.0f}, {2})}, {"b", Tensor::from_int64({258}, {1})}},
      {{"format", "pt"}});
  EXPECT_EQ(encoded, expected);
  const SafetensorsContent content = decode(expected);
  ASSERT_EQ(content.tensors.size(), 2u);
  EXPECT_EQ(content.metadata.at("format"), "pt");
  EXPECT_EQ(content.find("a")->to_floats(), (std::vector<float>{1.0f, -2.0f}));
  EXPECT_EQ(content.find("b")->to_int64(), (std::vector<int64_t>{258}));
  EXPECT_EQ(content.find("c"), nullptr);
}

TEST(Safetensors, ReadsHeadersInOtherWritersStyle) {
  // Whitespace, members in another order, metadata last, tensors listed out of data order.
  const std::string header =
      "{\n  \"z\": {\"data_offsets\": [8, 16], \"shape\": [], \"dtype\": \"F64\"},\n"
      "  \"y\": {\"shape\": [2, 0], \"dtype\": \"F32\", \"data_offsets\": [0, 0]},\n"
      "  \"x\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},\n"
      "  \"__metadata__\": {\"step\": \"12\"}\n}";
  std::vector<uint8_t> data(16);
  const float x[2] = {3.5f, -0.25f};
  const double z = 1.0 / 3.0;
  std::memcpy(data.data(), x, 8);
  std::memcpy(data.data() + 8, &z, 8);
  const SafetensorsContent content = decode(build_file(header, data));
  ASSERT_EQ(content.tensors.size(), 3u);
  EXPECT_EQ(content.tensors[0].name, "y");  // in data order; empty first at offset 0
  EXPECT_EQ(content.find("y")->shape(), (Shape{2, 0}));
  EXPECT_EQ(content.find("x")->to_floats(), (std::vector<float>{3.5f, -0.25f}));
  EXPECT_EQ(content.find("z")->dim(), 0);
  EXPECT_EQ(content.find("z")->dtype(), DType::Float64);
  EXPECT_EQ(content.find("z")->item(), 1.0 / 3.0);
  EXPECT_EQ(content.metadata.at("step"), "12");
}

TEST(Safetensors, RoundTripIsBitExact) {
  Generator g(11);
  Tensor f32 = g.normal({3, 4, 5}, 0, 1, DType::Float32);
  f32.set({0, 0, 0}, std::numeric_limits<float>::infinity());
  f32.set({0, 0, 1}, -0.0);
  f32.set({0, 0, 2}, std::numeric_limits<float>::denorm_min());
  f32.set({0, 0, 3}, std::numeric_limits<float>::quiet_NaN());
  const Tensor f64 = g.normal({7}, 0, 1e-300, DType::Float64);
  const Tensor i64 =
      Tensor::from_int64({INT64_MIN, -1, 0, 1, INT64_MAX, 1234567890123456789}, {2, 3});
  const Tensor scalar = Tensor::scalar(-7.25, DType::Float64);
  const Tensor empty = Tensor::zeros({0, 3});
  const Tensor view =
      g.normal({4, 6}, 0, 1, DType::Float32).t().slice(0, 1, 6, 2);  // non-contiguous [3, 4]
  const std::vector<NamedTensor> tensors = {{"layer.0.weight", f32}, {"f64", f64},
                                            {"labels", i64},         {"scalar", scalar},
                                            {"empty", empty},        {"view", view}};
  const std::map<std::string, std::string> metadata = {
      {"format", "pt"}, {"note", "quotes \" and \\ and \xCE\xB5 and\nnewline"}, {"", "empty key"}};
  datasets_test::TempDir dir;
  const std::string path = dir.file("model.safetensors");
  save_safetensors(path, tensors, metadata);
  const SafetensorsContent loaded = load_safetensors(path);
  EXPECT_EQ(loaded.metadata, metadata);
  ASSERT_EQ(loaded.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    EXPECT_EQ(loaded.tensors[i].name, tensors[i].name);  // written, and read, in the given order
    const Tensor& got = loaded.tensors[i].tensor;
    EXPECT_EQ(got.shape(), tensors[i].tensor.shape()) << tensors[i].name;
    EXPECT_EQ(got.dtype(), tensors[i].tensor.dtype()) << tensors[i].name;
    EXPECT_EQ(raw_bytes(got), raw_bytes(tensors[i].tensor)) << tensors[i].name;
  }
  // Atomic write: no temporary file is left beside the checkpoint.
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    files += entry.is_regular_file();
  EXPECT_EQ(files, 1);
  // The data section is 8-byte aligned (header length a multiple of 8).
  const std::vector<uint8_t> bytes = encode_safetensors(tensors, metadata);
  EXPECT_EQ((bytes[0] | (bytes[1] << 8)) % 8, 0);
}

TEST(Safetensors, EncodingRejectsBadNames) {
  const Tensor t = Tensor::zeros({2});
  expect_error_containing([&] { encode_safetensors({{"w", t}, {"w", t}}); }, "'w' appears twice");
  expect_error_containing([&] { encode_safetensors({{"", t}}); }, "empty name");
  expect_error_containing([&] { encode_safetensors({{"__metadata__", t}}); }, "reserved");
  expect_error_containing([&] { encode_safetensors({{"w", Tensor()}}); }, "'w' is undefined");
  datasets_test::TempDir dir;
  expect_error_containing(
      [&] {
        save_safetensors(dir.file("x.safetensors"), {{"", t}});
      },
      "x.safetensors");
  expect_error_containing(
      [&] {
        save_safetensors(dir.file("no/dir/x.safetensors"), {{"w", t}});
      },
      "no/dir/x.safetensors");
}

const std::string kGoodEntry = R"("w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]})";

TEST(Safetensors, TruncatedFilesAreRejected) {
  const std::vector<uint8_t> good = build_file("{" + kGoodEntry + "}", std::vector<uint8_t>(8));
  EXPECT_NO_THROW(decode(good));
  expect_error_containing([] { decode({}); }, "truncated safetensors file: 0 bytes");
  expect_error_containing(
      [&] {
        decode({good.begin(), good.begin() + 5});
      },
      "truncated safetensors file: 5 bytes");
  expect_error_containing(
      [&] {
        decode({good.begin(), good.begin() + 20});
      },
      "runs past the end of the file");
  expect_error_containing(
      [&] {
        decode({good.begin(), good.end() - 3});
      },
      "out of range: the data section has 5 bytes");
  std::vector<uint8_t> huge = good;
  huge[7] = 0x80;  // header length 2^63 + ...
  expect_error_containing([&] { decode(huge); }, "runs past the end of the file");
}

TEST(Safetensors, MalformedHeadersAreRejected) {
  const std::vector<uint8_t> data(8);
  expect_corrupt("[" + kGoodEntry + "]", data, "must start with '{'");
  expect_corrupt("{" + kGoodEntry, data, "malformed JSON header: malformed JSON at byte");
  expect_corrupt("{" + kGoodEntry + "," + kGoodEntry + "}", data, "duplicate key \"w\"");
  expect_corrupt(R"({"w":[1,2]})", data, "tensor 'w': header entry must be an object, got array");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[2]}})", data,
                 "needs dtype, shape and data_offsets");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}})", data,
                 "unexpected header field \"extra\"");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", data,
                 "shape entries must be non-negative integers, got -2");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[2.0],"data_offsets":[0,8]}})", data,
                 "non-negative integers");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0]}})", data,
                 "data_offsets must be two non-negative integers");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}})", data,
                 "end before they begin");
  expect_corrupt(R"({"__metadata__":{"k":1},)" + kGoodEntry + "}", data,
                 "value of 'k' must be a string, got number");
  expect_corrupt(R"({"__metadata__":[],)" + kGoodEntry + "}", data,
                 "__metadata__ must be an object");
}

TEST(Safetensors, DtypesAreChecked) {
  const std::vector<uint8_t> data(8);
  expect_corrupt(R"({"w":{"dtype":"Q7","shape":[2],"data_offsets":[0,8]}})", data,
                 "tensor 'w': unknown dtype 'Q7'");
  expect_corrupt(R"({"w":{"dtype":"F16","shape":[4],"data_offsets":[0,8]}})", data,
                 "dtype 'F16' is not supported (stablenn reads F32, F64 and I64)");
  expect_corrupt(R"({"w":{"dtype":3,"shape":[2],"data_offsets":[0,8]}})", data,
                 "dtype must be a string");
}

TEST(Safetensors, OffsetsMustCoverTheDataExactly) {
  const std::vector<uint8_t> data12(12), data16(16), data20(20);
  // shape [3] of F32 is 12 bytes, not 8
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", data12,
                 "tensor 'w': shape [3] of F32 needs 12 bytes, data_offsets [0, 8] hold 8");
  expect_corrupt(R"({"w":{"dtype":"F32","shape":[4611686018427387904,8],"data_offsets":[0,8]}})",
                 data12, "needs more than 2^64 bytes");
  expect_corrupt(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                 data12, "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
  expect_corrupt(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                 R"("b":{"dtype":"F32","shape":[2],"data_offsets":[12,20]}})",
                 data20,
                 "bytes [8, 12] of the data section belong to no tensor (a gap before 'b')");
  expect_corrupt(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", data16,
                 "bytes [8, 16] at the end of the data section belong to no tensor");
  expect_corrupt(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]}})", data16,
                 "data_offsets [16, 24] out of range: the data section has 16 bytes");
}

TEST(Safetensors, LoadingNamesTheFile) {
  datasets_test::TempDir dir;
  const std::string path = dir.file("cut.safetensors");
  save_safetensors(path, {{"w", Tensor::ones({4, 4})}});
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 1);
  expect_error_containing([&] { load_safetensors(path); },
                          path + ": tensor 'w': data_offsets [0, 64] out of range");
  expect_error_containing([&] { load_safetensors(dir.file("absent.safetensors")); },
                          "cannot open " + dir.file("absent.safetensors"));
}

TEST(Safetensors, CopyIntoMatchesNamesShapesAndDtypes) {
  Generator g(5);
  const Tensor w = g.normal({3, 2}, 0, 1, DType::Float32), b = g.normal({3}, 0, 1, DType::Float32);
  SafetensorsContent content;
  content.tensors = {{"fc.weight", w}, {"fc.bias", b}};
  // Destinations may be views: the copy writes through them.
  Tensor big = Tensor::zeros({4, 3});
  Tensor weight_view = big.narrow(0, 1, 3).narrow(1, 0, 2);
  Tensor bias = Tensor::zeros({3});
  copy_safetensors_into(content, {{"fc.weight", weight_view}, {"fc.bias", bias}},
                        "ckpt.safetensors");
  EXPECT_EQ(weight_view.to_vector(), w.to_vector());
  EXPECT_EQ(bias.to_vector(), b.to_vector());
  EXPECT_EQ(big.at({0, 0}), 0.0);  // outside the view: untouched
  EXPECT_EQ(big.at({1, 2}), 0.0);
}

TEST(Safetensors, CopyIntoReportsEveryMismatchAndWritesNothing) {
  SafetensorsContent content;
  content.tensors = {{"fc1.weight", Tensor::ones({128, 784})},
                     {"fc1.bias", Tensor::ones({256}, DType::Float64)},
                     {"head.weight", Tensor::ones({10, 256})},
                     {"extra.buffer", Tensor::ones({1})}};
  Tensor fc1_weight = Tensor::zeros({256, 784}), fc1_bias = Tensor::zeros({256});
  Tensor head = Tensor::zeros({10, 256}), fc2_bias = Tensor::zeros({10});
  const std::vector<NamedTensor> model = {{"fc1.weight", fc1_weight},
                                          {"fc1.bias", fc1_bias},
                                          {"head.weight", head},
                                          {"fc2.bias", fc2_bias}};
  try {
    copy_safetensors_into(content, model, "model.safetensors");
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "model.safetensors: 4 problems: tensor 'fc1.weight': expected shape [256, 784], file "
              "has [128, 784]; "
              "tensor 'fc1.bias': expected dtype F32, file has F64; tensor 'fc2.bias': missing "
              "from the file; "
              "tensor 'extra.buffer': unexpected (not in the model)");
  }
  EXPECT_EQ(head.at({0, 0}), 0.0);  // nothing was copied, not even the tensor that matched
  // A checkpoint with more in it (e.g. optimiser state): the extra tensors are a problem unless
  // allow_unexpected.
  expect_error_containing(
      [&] {
        copy_safetensors_into(content, {{"head.weight", head}}, "m.safetensors");
      },
      "m.safetensors: 3 problems: tensor 'fc1.weight': unexpected (not in the model)");
  copy_safetensors_into(content, {{"head.weight", head}}, "m.safetensors", true);
  EXPECT_EQ(head.at({9, 255}), 1.0);
}

}  // namespace
}  // namespace stablenn
