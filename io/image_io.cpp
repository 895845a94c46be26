// io/image_io.cpp — image reading through libpng and libjpeg-turbo, PNG writing through
// stb_image_write (chapter 3). This file holds the one definition of stb_image_write in stablenn.
#include "io/image_io.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include <jpeglib.h>
#include <jerror.h>  // after jpeglib.h: the warning codes
#include <png.h>

// stb_image_write only writes our own PNGs; decoding goes through libpng and libjpeg-turbo, which
// are made for untrusted files (stb_image's documentation says it is not).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wall"
#pragma GCC diagnostic ignored "-Wextra"
#pragma GCC diagnostic ignored "-Wpedantic"
#pragma GCC diagnostic ignored "-Wshadow"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb_image_write.h>
#pragma GCC diagnostic pop

#include "core/error.h"
#include "io/file_bytes.h"

namespace stablenn {

namespace {

bool starts_with(const uint8_t* bytes, size_t size, const char* magic, size_t length) {
  return size >= length && std::memcmp(bytes, magic, length) == 0;
}

// The name of a format stablenn recognises but does not read, or nullptr.
const char* refused_format(const uint8_t* b, size_t n) {
  if (starts_with(b, n, "GIF87a", 6) || starts_with(b, n, "GIF89a", 6)) return "GIF";
  if (starts_with(b, n, "BM", 2)) return "BMP";
  if (starts_with(b, n, "RIFF", 4) && n >= 12 && std::memcmp(b + 8, "WEBP", 4) == 0) return "WebP";
  if (starts_with(b, n, "II*\0", 4) || starts_with(b, n, "MM\0*", 4)) return "TIFF";
  if (starts_with(b, n, "8BPS", 4)) return "PSD";
  if (starts_with(b, n, "#?RADIANCE", 10) || starts_with(b, n, "#?RGBE", 6)) return "HDR";
  if (n >= 2 && b[0] == 'P' && b[1] >= '1' && b[1] <= '7') return "PNM";
  if (starts_with(b, n, "\0\0\1\0", 4)) return "ICO";
  if (starts_with(b, n, "qoif", 4)) return "QOI";
  return nullptr;
}

// The pixels of a decoded file: height x width x channels interleaved bytes, channels 1 or 3.
struct Pixels {
  int64_t width = 0, height = 0;
  int channels = 0;
  std::vector<uint8_t> bytes;
};

// Checks the size a header declares before any buffer for it exists: each side, and the bytes of
// both the decoded 8-bit pixels and the float tensor returned (4 bytes a value).
void check_limits(const std::string& source, const char* format, int64_t width, int64_t height,
                  int stored_channels, int out_channels, const ImageLimits& limits) {
  SNN_CHECK(width > 0 && height > 0, source, ": the ", format, " header declares an empty image (",
            width, "x", height, ")");
  SNN_CHECK(width <= limits.max_side && height <= limits.max_side, source, ": the ", format,
            " header declares ", width, "x", height, " pixels; at most ", limits.max_side,
            " per side are read (ImageLimits::max_side)");
  const int64_t per_pixel = std::max<int64_t>(stored_channels, int64_t(out_channels) * 4);
  // width, height <= max_side: the product cannot overflow for any plausible limit.
  const int64_t bytes = width * height * per_pixel;
  SNN_CHECK(bytes <= limits.max_bytes, source, ": the ", format, " header declares ", width, "x",
            height, " pixels, which need ", bytes, " bytes; at most ", limits.max_bytes,
            " are allowed per image (ImageLimits::max_bytes)");
}

// ---- PNG: libpng's simplified API does its own setjmp/longjmp and leaves the reason in
// image.message, so no C++ object is ever jumped over.
Pixels decode_png(const uint8_t* data, size_t size, const std::string& source, int channels,
                  const ImageLimits& limits) {
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, data, size)) {
    const std::string reason = image.message;
    png_image_free(&image);
    fail(source, ": cannot read the PNG image: ", reason);
  }
  const bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) != 0;
  const bool alpha = (image.format & PNG_FORMAT_FLAG_ALPHA) != 0;
  const int stored = (colour ? 3 : 1) + (alpha ? 1 : 0);
  const int out_channels = channels != 0 ? channels : (colour ? 3 : 1);
  try {
    check_limits(source, "PNG", image.width, image.height, stored, out_channels, limits);
  } catch (...) {
    png_image_free(&image);
    throw;
  }
  // Decoded as stored (8 bits, alpha kept), converted below: alpha is dropped, not blended.
  image.format = (colour ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0);
  std::vector<uint8_t> decoded(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, decoded.data(), 0, nullptr)) {
    const std::string reason = image.message;
    png_image_free(&image);
    fail(source, ": cannot read the PNG image: ", reason);
  }
  Pixels out;
  out.width = image.width;
  out.height = image.height;
  out.channels = colour ? 3 : 1;
  const int64_t count = out.width * out.height;
  out.bytes.resize(static_cast<size_t>(count * out.channels));
  for (int64_t p = 0; p < count; ++p)
    for (int c = 0; c < out.channels; ++c) out.bytes[p * out.channels + c] = decoded[p * stored + c];
  png_image_free(&image);
  return out;
}

// ---- JPEG: libjpeg reports errors through error_exit, which must not return. It longjmps back to
// decode_jpeg_c, whose frame holds only C objects; the C++ caller then throws.
struct JpegErrorManager {
  jpeg_error_mgr base;  // first: libjpeg sees a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

extern "C" void jpeg_error_exit(j_common_ptr info) {
  auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
  (*info->err->format_message)(info, manager->message);
  std::longjmp(manager->jump, 1);
}

// Warnings about damaged pixel data ("Premature end of JPEG file", "Corrupt JPEG data: bad
// Huffman code", ...) mean libjpeg would fill the rest with grey: such a file is refused, not
// silently patched. Other warnings (an unknown JFIF version, extra bytes before a marker) are
// harmless and ignored.
extern "C" void jpeg_emit_message(j_common_ptr info, int msg_level) {
  if (msg_level >= 0) return;  // trace messages
  switch (info->err->msg_code) {
    case JWRN_JPEG_EOF: case JWRN_HIT_MARKER: case JWRN_HUFF_BAD_CODE: case JWRN_ARITH_BAD_CODE:
    case JWRN_MUST_RESYNC: case JWRN_BOGUS_PROGRESSION: case JWRN_NOT_SEQUENTIAL:
      jpeg_error_exit(info);  // does not return
      return;
    default: return;
  }
}

// A progressive JPEG can declare thousands of tiny scans, each a pass over the image.
constexpr int kMaxJpegScans = 1000;
extern "C" void jpeg_progress(j_common_ptr info) {
  if (info->is_decompressor &&
      reinterpret_cast<j_decompress_ptr>(info)->input_scan_number > kMaxJpegScans) {
    auto* manager = reinterpret_cast<JpegErrorManager*>(info->err);
    std::snprintf(manager->message, sizeof manager->message, "more than %d scans", kMaxJpegScans);
    std::longjmp(manager->jump, 1);
  }
}

// What decode_jpeg_c works with: plain C data only (longjmp skips no destructor).
struct JpegJob {
  const unsigned char* data;
  unsigned long size;
  int requested_channels;  // 0, 1 or 3
  int64_t max_side, max_bytes;
  // results
  int64_t width, height;
  int stored_channels, channels;
  unsigned char* pixels;  // malloc'd; the caller frees it
  int limit_exceeded;     // set when the header's size is over the limits (no pixels read)
  char message[JMSG_LENGTH_MAX];
};

// Returns 1 on success, 0 with job->message (or job->limit_exceeded) set otherwise.
int decode_jpeg_c(JpegJob* job) {
  jpeg_decompress_struct info;
  JpegErrorManager errors;
  jpeg_progress_mgr progress;
  std::memset(&info, 0, sizeof info);
  std::memset(&progress, 0, sizeof progress);
  info.err = jpeg_std_error(&errors.base);
  errors.base.error_exit = jpeg_error_exit;
  errors.base.emit_message = jpeg_emit_message;
  errors.message[0] = '\0';
  if (setjmp(errors.jump)) {
    jpeg_destroy_decompress(&info);
    std::free(job->pixels);
    job->pixels = nullptr;
    std::memcpy(job->message, errors.message, sizeof job->message);
    return 0;
  }
  jpeg_create_decompress(&info);
  // Bounds libjpeg's own buffers (a progressive file keeps all its coefficients in memory).
  info.mem->max_memory_to_use = static_cast<long>(job->max_bytes);
  progress.progress_monitor = jpeg_progress;
  info.progress = &progress;
  jpeg_mem_src(&info, job->data, job->size);
  jpeg_read_header(&info, TRUE);
  job->width = info.image_width;
  job->height = info.image_height;
  job->stored_channels = info.num_components;
  if (info.num_components != 1 && info.num_components != 3) {
    std::snprintf(errors.message, sizeof errors.message,
                  "%d colour components (CMYK?); stablenn reads grey and colour JPEGs",
                  info.num_components);
    std::longjmp(errors.jump, 1);
  }
  const int channels = job->requested_channels != 0 ? job->requested_channels
                                                    : (info.num_components == 1 ? 1 : 3);
  job->channels = channels;
  const int64_t per_pixel = std::max<int64_t>(info.num_components, int64_t(channels) * 4);
  if (job->width <= 0 || job->height <= 0 || job->width > job->max_side ||
      job->height > job->max_side || job->width * job->height * per_pixel > job->max_bytes) {
    job->limit_exceeded = 1;
    jpeg_destroy_decompress(&info);
    return 0;
  }
  info.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB;
  jpeg_start_decompress(&info);
  const size_t row = static_cast<size_t>(info.output_width) * info.output_components;
  job->pixels = static_cast<unsigned char*>(std::malloc(row * info.output_height));
  if (job->pixels == nullptr) {
    std::snprintf(errors.message, sizeof errors.message, "out of memory");
    std::longjmp(errors.jump, 1);
  }
  while (info.output_scanline < info.output_height) {
    JSAMPROW rows[1] = {job->pixels + row * info.output_scanline};
    jpeg_read_scanlines(&info, rows, 1);
  }
  jpeg_finish_decompress(&info);
  jpeg_destroy_decompress(&info);
  return 1;
}

Pixels decode_jpeg(const uint8_t* data, size_t size, const std::string& source, int channels,
                   const ImageLimits& limits) {
  JpegJob job;
  std::memset(&job, 0, sizeof job);
  job.data = data;
  job.size = static_cast<unsigned long>(size);
  job.requested_channels = channels;
  job.max_side = limits.max_side;
  job.max_bytes = limits.max_bytes;
  if (!decode_jpeg_c(&job)) {
    if (job.limit_exceeded) {
      check_limits(source, "JPEG", job.width, job.height, job.stored_channels, job.channels, limits);
    }
    fail(source, ": cannot read the JPEG image: ", job.message);
  }
  Pixels out;
  out.width = job.width;
  out.height = job.height;
  out.channels = job.channels;
  out.bytes.assign(job.pixels, job.pixels + out.width * out.height * out.channels);
  std::free(job.pixels);
  return out;
}

}  // namespace

Tensor decode_image(const uint8_t* bytes, size_t size, const std::string& source, int channels,
                    const ImageLimits& limits) {
  SNN_CHECK(channels == 0 || channels == 1 || channels == 3, "load_image(", source,
            "): channels must be 0 (as stored), 1 or 3, got ", channels);
  Pixels pixels;
  if (starts_with(bytes, size, "\x89PNG\r\n\x1a\n", 8)) {
    pixels = decode_png(bytes, size, source, channels, limits);
  } else if (starts_with(bytes, size, "\xFF\xD8\xFF", 3)) {
    pixels = decode_jpeg(bytes, size, source, channels, limits);
  } else if (const char* format = refused_format(bytes, size)) {
    fail(source, ": ", format, " images are not read; stablenn reads PNG and JPEG files");
  } else {
    fail(source, ": not a PNG or JPEG file (", size == 0 ? "the file is empty" : "unknown format",
         "); stablenn reads PNG and JPEG images");
  }
  if (channels == 0) channels = pixels.channels;
  // pixels: [H, W, C] interleaved bytes -> out: [C, H, W] floats
  Tensor out = Tensor::empty({channels, pixels.height, pixels.width}, DType::Float32);
  float* dst = out.data<float>();
  const int64_t plane = pixels.height * pixels.width;
  const uint8_t* src = pixels.bytes.data();
  if (channels == pixels.channels) {
    for (int64_t p = 0; p < plane; ++p)
      for (int c = 0; c < channels; ++c) dst[c * plane + p] = src[p * channels + c] / 255.0f;
  } else if (channels == 3) {  // grey -> RGB: the value in every channel
    for (int64_t p = 0; p < plane; ++p)
      for (int c = 0; c < 3; ++c) dst[c * plane + p] = src[p] / 255.0f;
  } else {  // RGB -> grey with stb_image's integer weights, as before
    for (int64_t p = 0; p < plane; ++p) {
      const int r = src[3 * p], g = src[3 * p + 1], b = src[3 * p + 2];
      dst[p] = static_cast<uint8_t>((r * 77 + g * 150 + b * 29) >> 8) / 255.0f;
    }
  }
  return out;
}

Tensor load_image(const std::string& path, int channels, const ImageLimits& limits) {
  SNN_CHECK(channels == 0 || channels == 1 || channels == 3, "load_image(", path,
            "): channels must be 0 (as stored), 1 or 3, got ", channels);
  // A compressed image is never larger than its pixels plus the format's overhead.
  const std::vector<uint8_t> bytes =
      read_file_raw(path, static_cast<uint64_t>(limits.max_bytes) + (1 << 20));
  return decode_image(bytes.data(), bytes.size(), path, channels, limits);
}

namespace {

void append_bytes(void* context, void* data, int size) {
  auto* buffer = static_cast<std::vector<uint8_t>*>(context);
  const auto* bytes = static_cast<const uint8_t*>(data);
  buffer->insert(buffer->end(), bytes, bytes + size);
}

}  // namespace

void save_png_bytes(const std::string& path, int64_t width, int64_t height, int channels,
                    const uint8_t* pixels) {
  SNN_CHECK(channels >= 1 && channels <= 4, "save_png(", path, "): ", channels,
            " channels; a PNG has 1 to 4");
  SNN_CHECK(width > 0 && height > 0 && width < (1 << 24) && height < (1 << 24), "save_png(", path,
            "): image size ", width, "x", height, " is not writable");
  // Encode in memory, then write atomically: a crash never leaves half a PNG behind.
  std::vector<uint8_t> encoded;
  const int ok = stbi_write_png_to_func(append_bytes, &encoded, static_cast<int>(width),
                                        static_cast<int>(height), channels, pixels,
                                        static_cast<int>(width * channels));
  SNN_CHECK(ok != 0, "save_png(", path, "): PNG encoding failed");
  write_file_atomic(path, encoded.data(), encoded.size());
}

void save_png(const std::string& path, const Tensor& image) {
  SNN_CHECK(image.defined(), "save_png(", path, "): undefined tensor");
  SNN_CHECK(is_floating(image.dtype()), "save_png(", path, "): needs a float tensor in [0, 1], got ",
            dtype_name(image.dtype()));
  Tensor chw = image;
  if (chw.dim() == 2) chw = chw.unsqueeze(0);
  SNN_CHECK(chw.dim() == 3 && (chw.size(0) == 1 || chw.size(0) == 3 || chw.size(0) == 4),
            "save_png(", path, "): expected an image [H, W], [1, H, W], [3, H, W] or [4, H, W], got ",
            shape_str(image.shape()));
  const int channels = static_cast<int>(chw.size(0));
  const int64_t height = chw.size(1), width = chw.size(2);
  const std::vector<double> values = chw.to_vector();  // [C, H, W] row-major
  const int64_t plane = height * width;
  std::vector<uint8_t> pixels(static_cast<size_t>(plane * channels));  // [H, W, C]
  for (int c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < plane; ++p) {
      const double v = values[c * plane + p];
      SNN_CHECK(std::isfinite(v), "save_png(", path, "): non-finite value ", v, " at channel ", c,
                ", row ", p / width, ", column ", p % width);
      pixels[p * channels + c] = static_cast<uint8_t>(std::lround(std::clamp(v, 0.0, 1.0) * 255.0));
    }
  }
  save_png_bytes(path, width, height, channels, pixels.data());
}

Tensor image_grid(const Tensor& images, int64_t columns, int64_t padding, double pad_value) {
  // images: [N, C, H, W] -> [C, rows*(H+pad)+pad, columns*(W+pad)+pad]
  SNN_CHECK(images.dim() == 4, "image_grid: expected images [N, C, H, W], got ",
            shape_str(images.shape()));
  SNN_CHECK(columns > 0 && padding >= 0, "image_grid: columns must be > 0 and padding >= 0, got ",
            columns, " and ", padding);
  const int64_t n = images.size(0), channels = images.size(1);
  const int64_t height = images.size(2), width = images.size(3);
  const int64_t rows = std::max<int64_t>(1, (n + columns - 1) / columns);
  const int64_t grid_h = rows * (height + padding) + padding;
  const int64_t grid_w = columns * (width + padding) + padding;
  Tensor grid = Tensor::full({channels, grid_h, grid_w}, pad_value, images.dtype());
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = padding + (i / columns) * (height + padding);
    const int64_t left = padding + (i % columns) * (width + padding);
    Tensor cell = grid.narrow(1, top, height).narrow(2, left, width);
    cell.copy_(images.select(0, i));
  }
  return grid;
}

}  // namespace stablenn
