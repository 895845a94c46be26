// fuzz/make_seeds.cpp — writes the fuzzers' seed corpora with stablenn's own writers (issue 15):
//   make_seeds OUT   ->  OUT/idx, OUT/cifar, OUT/checkpoint, OUT/image, OUT/json, OUT/args
// IDX and CIFAR files raw and gzip, checkpoints by save_checkpoint, PNGs by save_png, JPEGs by
// libjpeg (stablenn writes none), JSON from encode_safetensors' headers. Run at build time.
#include <zlib.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "fuzz/fuzz_model.h"
#include "io/file_bytes.h"
#include "io/image_io.h"
#include "io/safetensors.h"
#include "train/checkpoint.h"

namespace {

using Bytes = std::vector<uint8_t>;

void write(const std::string& path, const Bytes& bytes) {
  stablenn::write_file_atomic(path, bytes.data(), bytes.size());
}

void write_gzip(const std::string& path, const Bytes& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  if (file == nullptr || (!bytes.empty() && gzwrite(file, bytes.data(), unsigned(bytes.size())) <= 0) ||
      gzclose(file) != Z_OK)
    stablenn::fail("make_seeds: cannot write ", path);
}

Bytes idx(uint8_t ndims, const std::vector<uint32_t>& dims) {
  Bytes out = {0, 0, 8, ndims};
  size_t payload = 1;
  for (uint32_t d : dims) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(uint8_t(d >> shift));
    payload *= d;
  }
  for (size_t k = 0; k < payload; ++k) out.push_back(uint8_t(k * 37));
  return out;
}

Bytes cifar(int records, int label_bytes) {
  Bytes out;
  for (int r = 0; r < records; ++r) {
    for (int l = 0; l < label_bytes; ++l) out.push_back(uint8_t(r % 10));
    for (int k = 0; k < 3072; ++k) out.push_back(uint8_t(k + r));
  }
  return out;
}

Bytes jpeg(int width, int height, int components, bool progressive) {
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
  if (progressive) jpeg_simple_progression(&info);
  jpeg_start_compress(&info, TRUE);
  std::vector<unsigned char> row(size_t(width) * components);
  while (info.next_scanline < info.image_height) {
    for (size_t k = 0; k < row.size(); ++k) row[k] = uint8_t(k * 13 + info.next_scanline * 7);
    JSAMPROW rows[1] = {row.data()};
    jpeg_write_scanlines(&info, rows, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  Bytes out(buffer, buffer + size);
  std::free(buffer);
  return out;
}

// The decode target reads the first byte as the channel choice; seeds start with 0 (as stored).
Bytes with_channel_byte(const Bytes& image) {
  Bytes out = {0};
  out.insert(out.end(), image.begin(), image.end());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace stablenn;
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds OUT_FOLDER\n");
    return 2;
  }
  const std::string out = argv[1];
  try {
    for (const char* sub : {"idx", "cifar", "checkpoint", "image", "json", "args"})
      std::filesystem::create_directories(out + "/" + sub);
    // IDX: labels and images, raw and gzip.
    write(out + "/idx/labels", idx(1, {5}));
    write(out + "/idx/images", idx(3, {2, 4, 3}));
    write_gzip(out + "/idx/labels.gz", idx(1, {5}));
    write_gzip(out + "/idx/images.gz", idx(3, {2, 4, 3}));
    // CIFAR-10 (1 label byte) and CIFAR-100 (2) records, raw and gzip.
    write(out + "/cifar/cifar10.bin", cifar(2, 1));
    write(out + "/cifar/cifar100.bin", cifar(1, 2));
    write_gzip(out + "/cifar/cifar10.bin.gz", cifar(2, 1));
    // Checkpoints of the target's model: with and without the optimiser, with metadata.
    const auto model = stablenn_fuzz::fuzz_model();
    Adam adam(model->parameters(), 0.01);
    save_checkpoint(out + "/checkpoint/model.safetensors", *model);
    save_checkpoint(out + "/checkpoint/with_adam.safetensors", *model, &adam, {{"epoch", "3"}});
    const Bytes mixed = encode_safetensors(
        {{"f64", Tensor::ones({2, 2}, DType::Float64)}, {"i64", Tensor::zeros({3}, DType::Int64)},
         {"empty", Tensor::zeros({0, 4})}},
        {{"note", "x"}});
    write(out + "/checkpoint/mixed.safetensors", mixed);
    // JSON: the headers of those files, and a few values of every kind.
    const uint64_t header = [&] {
      uint64_t n = 0;
      for (int b = 0; b < 8; ++b) n |= uint64_t(mixed[b]) << (8 * b);
      return n;
    }();
    write(out + "/json/header.json", Bytes(mixed.begin() + 8, mixed.begin() + 8 + long(header)));
    const std::string values = R"({"a":[1,-2.5e3,0,true,false,null],"b":{"c":"x\ty\u03b5\ud83d\ude00"}})";
    write(out + "/json/values.json", Bytes(values.begin(), values.end()));
    // Command lines (arguments separated by NUL bytes), valid and not.
    const auto command_line = [](std::initializer_list<std::string> words) {
      Bytes b;
      for (const std::string& w : words) {
        if (!b.empty()) b.push_back(0);
        b.insert(b.end(), w.begin(), w.end());
      }
      return b;
    };
    write(out + "/args/valid", command_line({"--cell", "3", "--lr=1e-3", "--widths", "32,64", "--smoke"}));
    write(out + "/args/choices", command_line({"--models", "resnet", "--attacks", "fgsm,pgd"}));
    write(out + "/args/bad", command_line({"--cell", "4294967297", "--widths", "a,b"}));
    // Images: PNGs by save_png (grey, RGB, RGBA), JPEGs grey, colour and progressive.
    const std::string png_dir = out + "/image/";
    Generator g(7);
    save_png(png_dir + "grey.png", g.uniform({1, 5, 7}));
    save_png(png_dir + "rgb.png", g.uniform({3, 4, 4}));
    save_png(png_dir + "rgba.png", g.uniform({4, 3, 2}));
    for (const char* name : {"grey.png", "rgb.png", "rgba.png"})
      write(png_dir + name, with_channel_byte(read_file_raw(png_dir + name)));
    write(png_dir + "grey.jpg", with_channel_byte(jpeg(8, 8, 1, false)));
    write(png_dir + "rgb.jpg", with_channel_byte(jpeg(17, 9, 3, false)));
    write(png_dir + "progressive.jpg", with_channel_byte(jpeg(16, 16, 3, true)));
  } catch (const Error& e) {
    std::fprintf(stderr, "make_seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
