// tests/ch03_io_untrusted_test.cpp — files from outside cannot crash, hang or fool the readers: one
// regression test per defect that fuzzing found (issue 15), each with its reproducer built here
// from a few bytes, and the clear error expected (chapter 3).
#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "datasets/cifar.h"
#include "datasets/idx.h"
#include "datasets/toy2d.h"
#include "io/file_bytes.h"
#include "io/image_io.h"
#include "io/json.h"
#include "io/safetensors.h"
#include "layers/activations.h"
#include "layers/linear.h"
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "tests/ch03_datasets_util.h"

namespace stablenn {
namespace {

using datasets_test::error_message;
using datasets_test::TempDir;
using Bytes = std::vector<uint8_t>;

#define EXPECT_HAS(message, part) EXPECT_NE((message).find(part), std::string::npos) << (message)

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Time bounds for the timing tests: sanitizer builds run several times slower. The quadratic
// parser took 42 s for 150,000 keys in Release, so even the loose bound catches its return.
#if defined(__SANITIZE_ADDRESS__)
constexpr double kSlowBuild = 4.0;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr double kSlowBuild = 4.0;
#else
constexpr double kSlowBuild = 1.0;
#endif
#else
constexpr double kSlowBuild = 1.0;
#endif

// ---- images: libpng and libjpeg-turbo, other formats refused by name, sizes limited ----

std::string decode_error(const Bytes& bytes, int channels = 0, const ImageLimits& limits = {}) {
  return error_message([&] { decode_image(bytes.data(), bytes.size(), "input.img", channels, limits); });
}

// A grey (components 1) or colour (3) JPEG of constant value, written with libjpeg.
Bytes make_jpeg(int width, int height, int components, uint8_t value) {
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_width = width;
  info.image_height = height;
  info.input_components = components;
  info.in_color_space = components == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 100, TRUE);
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row(static_cast<size_t>(width * components), value);
  while (info.next_scanline < info.image_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

void append_chunk(Bytes& out, const char* type, const Bytes& data) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(data.size() >> shift));
  const size_t start = out.size();
  out.insert(out.end(), type, type + 4);
  out.insert(out.end(), data.begin(), data.end());
  const uLong crc = crc32(0, out.data() + start, static_cast<uInt>(out.size() - start));
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<uint8_t>(crc >> shift));
}

// A 45-byte PNG declaring width x height, 8-bit RGB: signature, IHDR, an empty IDAT (valid CRCs).
Bytes png_header(uint32_t width, uint32_t height) {
  Bytes out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  Bytes ihdr;
  for (uint32_t v : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) ihdr.push_back(static_cast<uint8_t>(v >> shift));
  for (uint8_t b : {8, 2, 0, 0, 0}) ihdr.push_back(b);  // depth 8, RGB, deflate, filter, no interlace
  append_chunk(out, "IHDR", ihdr);
  append_chunk(out, "IDAT", {});
  return out;
}

TEST(UntrustedImages, TenByteJpegThatBrokeStbIsAClearError) {
  // The fuzzer's input: a harness byte, then SOI, a DHT segment with unchecked counts, EOI.
  const Bytes jpeg = {0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0x00, 0x01, 0xFF, 0xD9};
  for (int channels : {0, 1, 3}) {
    const std::string message = decode_error(jpeg, channels);
    EXPECT_HAS(message, "input.img");
    EXPECT_HAS(message, "cannot read the JPEG image");
  }
  // The same bytes as a file (load_image; stbi_info was the other way in).
  TempDir dir;
  datasets_test::write_raw(dir.file("x.jpg"), jpeg);
  const std::string message = error_message([&] { load_image(dir.file("x.jpg")); });
  EXPECT_HAS(message, dir.file("x.jpg"));
  EXPECT_HAS(message, "JPEG");
}

TEST(UntrustedImages, OtherFormatsAreRefusedByName) {
  // GIF declaring 16191 x 16191 (stb_image allocated over 2 GB for these 30 bytes).
  Bytes gif = {'G', 'I', 'F', '8', '9', 'a', 0x3F, 0x3F, 0x3F, 0x3F, 0xF7, 0, 0};
  gif.resize(30, 0);
  EXPECT_HAS(decode_error(gif), "GIF images are not read; stablenn reads PNG and JPEG");
  // A BMP header (stb_image took 6.7 s on a 174-byte one).
  Bytes bmp = {'B', 'M', 174, 0, 0, 0, 0, 0, 0, 0, 54, 0, 0, 0, 40, 0, 0, 0};
  bmp.resize(174, 0xFF);
  EXPECT_HAS(decode_error(bmp), "BMP images are not read");
  EXPECT_HAS(decode_error({'R', 'I', 'F', 'F', 0, 0, 0, 0, 'W', 'E', 'B', 'P'}), "WebP");
  EXPECT_HAS(decode_error({'P', '6', '\n', '1', ' ', '1'}), "PNM");
  EXPECT_HAS(decode_error({1, 2, 3, 4, 5}), "not a PNG or JPEG file");
  EXPECT_HAS(decode_error({}), "the file is empty");
}

TEST(UntrustedImages, DeclaredSizesAreCheckedBeforeDecoding) {
  // A 45-byte PNG declaring 20000 x 20000: refused on the side limit, no pixel buffer made.
  std::string message = decode_error(png_header(20000, 20000));
  EXPECT_HAS(message, "20000x20000");
  EXPECT_HAS(message, "at most 16384 per side");
  // Within the side limit but over a smaller byte limit (100 x 100 RGB as floats: 120,000 bytes).
  ImageLimits small;
  small.max_bytes = 100000;
  message = decode_error(png_header(100, 100), 0, small);
  EXPECT_HAS(message, "120000 bytes");
  EXPECT_HAS(message, "ImageLimits::max_bytes");
  // Under the limits, the header alone is a damaged PNG: libpng's error, as an exception.
  message = decode_error(png_header(4, 4));
  EXPECT_HAS(message, "input.img: cannot read the PNG image");

  // A real JPEG with its frame header patched to 60000 x 60000.
  Bytes jpeg = make_jpeg(8, 8, 1, 200);
  size_t sof = 2;
  while (sof + 9 < jpeg.size() && !(jpeg[sof] == 0xFF && jpeg[sof + 1] == 0xC0)) ++sof;
  ASSERT_LT(sof + 9, jpeg.size());
  for (size_t k : {sof + 5, sof + 7}) {  // height, then width, big-endian
    jpeg[k] = 0xEA;
    jpeg[k + 1] = 0x60;
  }
  message = decode_error(jpeg);
  EXPECT_HAS(message, "60000x60000");
  EXPECT_HAS(message, "per side");
}

TEST(UntrustedImages, GoodJpegsDecodeAndDamagedOnesAreRefused) {
  const Bytes grey = make_jpeg(8, 6, 1, 200);
  Tensor image = decode_image(grey.data(), grey.size(), "grey.jpg");
  ASSERT_EQ(image.shape(), (Shape{1, 6, 8}));
  for (float v : image.to_floats()) EXPECT_NEAR(v, 200 / 255.0f, 1.5 / 255);
  const Bytes colour = make_jpeg(5, 3, 3, 90);
  image = decode_image(colour.data(), colour.size(), "colour.jpg");
  ASSERT_EQ(image.shape(), (Shape{3, 3, 5}));
  for (float v : image.to_floats()) EXPECT_NEAR(v, 90 / 255.0f, 1.5 / 255);
  EXPECT_EQ(decode_image(colour.data(), colour.size(), "colour.jpg", 1).shape(), (Shape{1, 3, 5}));
  // Cut in half: libjpeg would fill the rest with grey; stablenn refuses the file instead.
  const Bytes cut(grey.begin(), grey.begin() + grey.size() / 2);
  EXPECT_HAS(decode_error(cut), "cannot read the JPEG image");
}

TEST(UntrustedImages, PngAlphaIsDroppedAndDamagedPngsAreRefused) {
  TempDir dir;
  // RGBA written by save_png reads back as its RGB channels (alpha dropped, not blended).
  std::vector<double> values;
  for (int k = 0; k < 4 * 3 * 2; ++k) values.push_back((k * 11 % 256) / 255.0);
  const Tensor rgba = Tensor::from_vector(values, {4, 3, 2});
  save_png(dir.file("rgba.png"), rgba);
  const Tensor back = load_image(dir.file("rgba.png"));
  ASSERT_EQ(back.shape(), (Shape{3, 3, 2}));
  EXPECT_EQ(back.to_floats(), rgba.narrow(0, 0, 3).contiguous().to_floats());
  // Cut short, or with a flipped byte in the pixel data: libpng's error, naming the file.
  Bytes png = datasets_test::read_raw(dir.file("rgba.png"));
  const Bytes cut(png.begin(), png.begin() + static_cast<long>(png.size()) - 20);
  EXPECT_HAS(decode_error(cut), "input.img: cannot read the PNG image");
  png[png.size() - 20] ^= 0x55;  // inside the IDAT chunk: its CRC no longer matches
  EXPECT_HAS(decode_error(png), "input.img: cannot read the PNG image");
}

// ---- bounded decompression ----

// Writes `header` followed by `zeros` zero bytes as a gzip file, without holding them in memory.
void write_gzip_with_zeros(const std::string& path, const Bytes& header, size_t zeros) {
  gzFile file = gzopen(path.c_str(), "wb1");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, header.data(), static_cast<unsigned>(header.size())), int(header.size()));
  const Bytes chunk(1 << 20, 0);
  for (size_t left = zeros; left > 0;) {
    const size_t n = std::min(left, chunk.size());
    ASSERT_EQ(gzwrite(file, chunk.data(), static_cast<unsigned>(n)), int(n));
    left -= n;
  }
  ASSERT_EQ(gzclose(file), Z_OK);
}

TEST(UntrustedGzip, BombIsStoppedAtWhatTheHeaderAllows) {
  TempDir dir;
  const std::string path = dir.file("bomb-images.gz");
  // An IDX header for 1 image of 28 x 28, followed by 64 MiB of zeros (a few hundred KB
  // compressed; the issue's bomb inflated to 2 GB).
  const Bytes header = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28};
  write_gzip_with_zeros(path, header, size_t(64) << 20);
  const auto start = std::chrono::steady_clock::now();
  const std::string message = error_message([&] { read_idx(path, 3); });
  EXPECT_HAS(message, path);
  // Stopped one byte past 16 + 784 + margin: the rest is never inflated.
  EXPECT_HAS(message, "inflates to more than " + std::to_string(16 + 784 + kIdxSizeMargin) + " bytes");
  EXPECT_LT(seconds_since(start), 2.0 * kSlowBuild);  // loose on purpose: it takes milliseconds

  // A bomb with a wrong magic number is refused after its first 16 bytes.
  write_gzip_with_zeros(path, {0x12, 0x34, 8, 3}, size_t(16) << 20);
  EXPECT_HAS(error_message([&] { read_idx(path, 3); }), "wrong magic number");

  // The generic limit: read_file_bytes never returns more than it is allowed.
  write_gzip_with_zeros(path, {}, 100000);
  EXPECT_HAS(error_message([&] { read_file_bytes(path, 99999); }), "more than 99999 bytes");
  EXPECT_EQ(read_file_bytes(path, 100000).size(), 100000u);
  EXPECT_EQ(read_file_head(path, 10), Bytes(10, 0));
  // Raw files too.
  datasets_test::write_raw(dir.file("raw"), Bytes(5000, 1));
  EXPECT_HAS(error_message([&] { read_file_bytes(dir.file("raw"), 4999); }), "holds more than 4999");
  EXPECT_HAS(error_message([&] { read_file_raw(dir.file("raw"), 4999); }), "holds more than 4999");
  EXPECT_EQ(read_file_raw(dir.file("raw")).size(), 5000u);
}

TEST(UntrustedGzip, TrailingBytesAfterTheLastMemberAreAnError) {
  TempDir dir;
  const std::string path = dir.file("labels.gz");
  const Bytes labels = {0, 0, 8, 1, 0, 0, 0, 3, 7, 8, 9};
  datasets_test::write_gzip(path, labels);
  Bytes bytes = datasets_test::read_raw(path);
  // Two members, as `cat a.gz b.gz` makes: both are read.
  Bytes twice = bytes;
  twice.insert(twice.end(), bytes.begin(), bytes.end());
  datasets_test::write_raw(path, twice);
  Bytes expected = labels;
  expected.insert(expected.end(), labels.begin(), labels.end());
  EXPECT_EQ(read_file_bytes(path), expected);
  // Anything else after the last member is an error (gzread ignored it).
  for (const Bytes& tail : {Bytes{0}, Bytes{'j', 'u', 'n', 'k'}, Bytes(100, 0)}) {
    Bytes damaged = bytes;
    damaged.insert(damaged.end(), tail.begin(), tail.end());
    datasets_test::write_raw(path, damaged);
    const std::string message = error_message([&] { read_idx(path, 1); });
    EXPECT_HAS(message, path);
    EXPECT_HAS(message, std::to_string(tail.size()) + " unexpected byte");
    EXPECT_HAS(message, "after the end of the gzip stream");
  }
  // A second member that is not gzip: a broken stream.
  Bytes bad_member = bytes;
  for (uint8_t b : {0x1f, 0x00, 0x00}) bad_member.push_back(b);
  datasets_test::write_raw(path, bad_member);
  EXPECT_HAS(error_message([&] { read_file_bytes(path); }), "broken gzip stream");
}

TEST(UntrustedGzip, CifarFilesAreBoundedByTheLargestCifarFile) {
  TempDir dir;
  const std::string path = dir.file("data_batch_1.bin.gz");
  // 50,000 records is CIFAR-100's train.bin, the largest file; 60,000 records' worth is refused
  // after inflating the limit (about 154 MB of zeros, 150 KB compressed). Written as 12 gzip
  // members of 5,000 records each: compressing once is cheaper.
  write_gzip_with_zeros(path, {}, size_t(5000) * 3073);
  const Bytes member = datasets_test::read_raw(path);
  Bytes members;
  for (int k = 0; k < 12; ++k) members.insert(members.end(), member.begin(), member.end());
  datasets_test::write_raw(path, members);
  const std::string message =
      error_message([&] { read_cifar_files({path}, CifarFormat::Cifar10, "t"); });
  EXPECT_HAS(message, path);
  EXPECT_HAS(message, "inflates to more than " + std::to_string(50000 * 3073 + 4096));
}

// ---- JSON: linear in the number of keys ----

TEST(UntrustedJson, ManyKeysParseInLinearTime) {
  auto object_with_keys = [](int n, bool duplicate_last) {
    std::string text = "{";
    for (int k = 0; k < n; ++k) text += "\"key" + std::to_string(k) + "\":" + std::to_string(k) + ",";
    text += duplicate_last ? "\"key0\":0}" : "\"last\":0}";
    return text;
  };
  // 150,000 keys took 42 s with the quadratic duplicate check; a linear one needs milliseconds.
  const std::string big = object_with_keys(150000, false);
  auto start = std::chrono::steady_clock::now();
  const Json parsed = parse_json(big);
  const double seconds = seconds_since(start);
  EXPECT_EQ(parsed.members().size(), 150001u);
  EXPECT_LT(seconds, 3.0 * kSlowBuild);  // about 0.3 s of CPU in Release; loose for busy machines
  // The duplicate found at the very end, also among 150,000 keys.
  start = std::chrono::steady_clock::now();
  EXPECT_HAS(error_message([&] { parse_json(object_with_keys(150000, true)); }), "duplicate key \"key0\"");
  EXPECT_LT(seconds_since(start), 3.0 * kSlowBuild);

  // The same through a safetensors header: 150,000 metadata keys.
  std::map<std::string, std::string> metadata;
  for (int k = 0; k < 150000; ++k) metadata["m" + std::to_string(k)] = "v";
  const Bytes file = encode_safetensors({{"w", Tensor::ones({2})}}, metadata);
  start = std::chrono::steady_clock::now();
  EXPECT_EQ(decode_safetensors(file.data(), file.size(), "many.safetensors").metadata.size(), 150000u);
  EXPECT_LT(seconds_since(start), 3.0 * kSlowBuild);
}

// ---- numbers from files ----

// A safetensors file whose header is `json` (padded to 8 bytes), followed by `data_bytes` zeros.
Bytes safetensors_with_header(std::string json, size_t data_bytes) {
  json.append((8 - json.size() % 8) % 8, ' ');
  Bytes out(8 + json.size() + data_bytes, 0);
  for (int b = 0; b < 8; ++b) out[b] = static_cast<uint8_t>(uint64_t(json.size()) >> (8 * b));
  std::memcpy(out.data() + 8, json.data(), json.size());
  return out;
}

TEST(UntrustedNumbers, ShapesWhoseSizesOverflowAreRefused) {
  // [2^32, 2^31, 0] holds no element, but 2^32 * 2^31 overflowed in shape_numel.
  const Bytes file = safetensors_with_header(
      R"({"w":{"dtype":"F32","shape":[4294967296,2147483648,0],"data_offsets":[0,0]}})", 0);
  const std::string message =
      error_message([&] { decode_safetensors(file.data(), file.size(), "big.safetensors"); });
  EXPECT_HAS(message, "big.safetensors: tensor 'w'");
  EXPECT_HAS(message, "[4294967296, 2147483648, 0]");
  EXPECT_HAS(message, "multiply to more than 2^63");
  // shape_numel itself: a zero anywhere gives 0, an overflowing product an error.
  EXPECT_EQ(shape_numel({int64_t(1) << 32, int64_t(1) << 31, 0}), 0);
  EXPECT_EQ(shape_numel({int64_t(1) << 31, int64_t(1) << 31}), int64_t(1) << 62);
  EXPECT_HAS(error_message([&] { shape_numel({int64_t(1) << 32, int64_t(1) << 32}); }),
             "more elements than a 64-bit count holds");
}

std::shared_ptr<Sequential> small_mlp(uint64_t seed) {
  Generator g(seed);
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Module>>{
      std::make_shared<Linear>(2, 4, true, g), Tanh(), std::make_shared<Linear>(4, 2, true, g)});
}

TEST(UntrustedNumbers, CheckpointEpochMustBeAWholeNumberInRange) {
  const std::string path = "run.safetensors";
  auto epoch_error = [&](const std::string& text) {
    return error_message([&] { checkpoint_integer({{"epoch", text}}, "epoch", path, 0, 1000); });
  };
  for (const std::string bad : {"abc", "1xyz", "", " 1", "1 ", "+1", "0x10", "1.0"}) {
    const std::string message = epoch_error(bad);
    EXPECT_HAS(message, "run.safetensors: metadata 'epoch' = \"" + bad + "\" is not a whole number");
  }
  for (const std::string big : {"9223372036854775807", "9223372036854775808", "1001", "-1"}) {
    const std::string message = epoch_error(big);
    EXPECT_HAS(message, "run.safetensors: metadata 'epoch' = " + big + " is out of range");
    EXPECT_HAS(message, "expected 0 to 1000");
  }
  EXPECT_EQ(checkpoint_integer({{"epoch", "17"}}, "epoch", path, 0, 1000), 17);
  EXPECT_HAS(error_message([&] { checkpoint_integer({}, "epoch", path, 0, 1); }), "no 'epoch' entry");

  // Through Trainer::fit: a checkpoint claiming epoch 2^63 - 1 (which overflowed) or "1xyz"
  // (which was taken as 1) stops the resume with the file and the field named.
  TempDir dir;
  const std::string checkpoint = dir.file("ckpt.safetensors");
  std::ostringstream out;
  Generator g(3);
  LoaderOptions loader_options;
  loader_options.batch_size = 16;
  const DataLoader train(make_moons(32, 0.1, g), loader_options);
  for (const std::string bad : {"9223372036854775807", "1xyz", "abc"}) {
    auto model = small_mlp(1);
    Adam adam(model->parameters(), 0.01);
    save_checkpoint(checkpoint, *model, &adam, {{"epoch", bad}});
    Trainer trainer(*model, adam, nullptr);
    trainer.options.out = &out;
    trainer.options.progress_style = ProgressStyle::Plain;
    trainer.options.epochs = 2;
    trainer.options.checkpoint_path = checkpoint;
    trainer.options.resume = true;
    const std::string message = error_message([&] { trainer.fit(train); });
    EXPECT_HAS(message, checkpoint + ": metadata 'epoch' = ");
    EXPECT_HAS(message, bad);
  }
}

TEST(UntrustedNumbers, CheckpointWithNonFiniteValuesIsRefused) {
  TempDir dir;
  const std::string path = dir.file("nan.safetensors");
  for (double bad : {std::nan(""), std::numeric_limits<double>::infinity()}) {
    auto broken = small_mlp(1);
    std::vector<NamedTensor> state = broken->state();
    Tensor bias = state.back().tensor;  // "2.bias"
    bias.select(0, 1).fill_(bad);
    save_checkpoint(path, *broken);
    auto model = small_mlp(2);
    const std::vector<float> before = model->state().front().tensor.to_floats();
    const std::string message = error_message([&] { load_checkpoint(path, *model); });
    EXPECT_HAS(message, path + ": tensor '" + state.back().name + "' holds a non-finite value");
    EXPECT_HAS(message, "at element 1");
    EXPECT_EQ(model->state().front().tensor.to_floats(), before);  // nothing was loaded
  }
}

}  // namespace
}  // namespace stablenn
