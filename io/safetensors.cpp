// io/safetensors.cpp — the safetensors reader and writer (chapter 3).
#include "io/safetensors.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/error.h"
#include "io/file_bytes.h"
#include "io/json.h"

namespace stablenn {

namespace {

constexpr uint64_t kMaxHeaderBytes = 100'000'000;  // the reference implementation's limit
constexpr const char* kMetadataKey = "__metadata__";

bool host_is_little_endian() {
  const uint16_t probe = 1;
  uint8_t first;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

// Copies `count` elements of `element_size` bytes, reversing each element's bytes on a big-endian
// host: the file is little-endian whatever machine wrote it.
void copy_little_endian(uint8_t* dst, const uint8_t* src, size_t count, size_t element_size) {
  if (count == 0) return;
  if (host_is_little_endian()) {
    std::memcpy(dst, src, count * element_size);
    return;
  }
  for (size_t i = 0; i < count; ++i) {
    for (size_t b = 0; b < element_size; ++b)
      dst[i * element_size + b] = src[i * element_size + element_size - 1 - b];
  }
}

// The dtypes of the safetensors specification; only the first three are read by stablenn.
bool parse_dtype(const std::string& name, DType& dtype) {
  for (DType candidate : {DType::Float32, DType::Float64, DType::Int64}) {
    if (name == safetensors_dtype_name(candidate)) {
      dtype = candidate;
      return true;
    }
  }
  return false;
}

bool is_known_unsupported_dtype(const std::string& name) {
  static const std::set<std::string> kOthers = {
      "BOOL", "U8",      "I8",      "U16",     "I16", "F16",     "BF16",    "U32", "I32",
      "U64",  "F8_E4M3", "F8_E5M2", "F8_E8M0", "F4",  "F6_E2M3", "F6_E3M2", "C64"};
  return kOthers.count(name) > 0;
}

std::string offsets_str(uint64_t begin, uint64_t end) {
  return "[" + std::to_string(begin) + ", " + std::to_string(end) + "]";
}

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

// One tensor's header entry, checked on its own (offsets against each other come later).
Entry parse_entry(const std::string& name, const Json& info, const std::string& source) {
  const std::string where = source + ": tensor '" + name + "'";
  SNN_CHECK(info.is_object(), where, ": header entry must be an object, got ", info.type_name());
  for (const auto& member : info.members()) {
    SNN_CHECK(member.first == "dtype" || member.first == "shape" || member.first == "data_offsets",
              where, ": unexpected header field \"", member.first,
              "\" (expected dtype, shape, data_offsets)");
  }
  const Json* dtype = info.find("dtype");
  const Json* shape = info.find("shape");
  const Json* offsets = info.find("data_offsets");
  SNN_CHECK(dtype && shape && offsets, where, ": header entry needs dtype, shape and data_offsets");
  SNN_CHECK(dtype->is_string(), where, ": dtype must be a string, got ", dtype->type_name());
  Entry entry;
  entry.name = name;
  const std::string& dtype_text = dtype->as_string();
  if (!parse_dtype(dtype_text, entry.dtype)) {
    SNN_CHECK(!is_known_unsupported_dtype(dtype_text), where, ": dtype '", dtype_text,
              "' is not supported (stablenn reads F32, F64 and I64)");
    fail(where, ": unknown dtype '", dtype_text, "'");
  }
  SNN_CHECK(shape->is_array(), where, ": shape must be an array, got ", shape->type_name());
  uint64_t numel = 1;
  bool numel_overflows = false;
  // The product of the non-zero sizes must fit a tensor's int64 element count too: a shape such
  // as [2^32, 2^31, 0] holds no element, but its sizes multiply past 2^63 in any stride or count.
  int64_t nonzero_product = 1;
  bool nonzero_overflows = false;
  for (const Json& dim : shape->items()) {
    uint64_t size = 0;
    SNN_CHECK(dim.to_uint64(size) && size <= uint64_t(INT64_MAX), where,
              ": shape entries must be non-negative integers, got ", dim.dump());
    entry.shape.push_back(static_cast<int64_t>(size));
    if (size != 0 && numel > UINT64_MAX / size) numel_overflows = true;
    numel *= size;
    if (size != 0 && __builtin_mul_overflow(nonzero_product, int64_t(size), &nonzero_product))
      nonzero_overflows = true;
  }
  SNN_CHECK(offsets->is_array() && offsets->items().size() == 2 &&
                offsets->items()[0].to_uint64(entry.begin) &&
                offsets->items()[1].to_uint64(entry.end),
            where, ": data_offsets must be two non-negative integers [begin, end], got ",
            offsets->dump());
  SNN_CHECK(entry.begin <= entry.end, where, ": data_offsets ", offsets_str(entry.begin, entry.end),
            " end before they begin");
  const uint64_t element = dtype_size(entry.dtype);
  const bool bytes_overflow = numel_overflows || (numel != 0 && numel > UINT64_MAX / element);
  SNN_CHECK(!bytes_overflow && numel * element == entry.end - entry.begin, where, ": shape ",
            shape_str(entry.shape), " of ", dtype_text, " needs ",
            bytes_overflow ? std::string("more than 2^64") : std::to_string(numel * element),
            " bytes, data_offsets ", offsets_str(entry.begin, entry.end), " hold ",
            entry.end - entry.begin);
  SNN_CHECK(!nonzero_overflows, where, ": shape ", shape_str(entry.shape),
            " is not plausible: its sizes multiply to more than 2^63");
  return entry;
}

}  // namespace

const char* safetensors_dtype_name(DType dtype) {
  switch (dtype) {
    case DType::Float32: return "F32";
    case DType::Float64: return "F64";
    case DType::Int64: return "I64";
  }
  return "?";
}

const Tensor* SafetensorsContent::find(const std::string& name) const {
  for (const NamedTensor& named : tensors) {
    if (named.name == name) return &named.tensor;
  }
  return nullptr;
}

std::vector<uint8_t> encode_safetensors(const std::vector<NamedTensor>& tensors,
                                        const std::map<std::string, std::string>& metadata) {
  // Header: metadata first, then the tensors with consecutive data offsets, as the reference
  // writer lays them out.
  std::vector<std::pair<std::string, Json>> header;
  if (!metadata.empty()) {
    std::vector<std::pair<std::string, Json>> entries;
    for (const auto& [key, value] : metadata) entries.emplace_back(key, Json::string(value));
    header.emplace_back(kMetadataKey, Json::object(std::move(entries)));
  }
  std::set<std::string> names;
  std::vector<Tensor> contiguous;
  uint64_t offset = 0;
  for (const NamedTensor& named : tensors) {
    SNN_CHECK(!named.name.empty(), "encode_safetensors: a tensor has an empty name");
    SNN_CHECK(named.name != kMetadataKey, "encode_safetensors: '", kMetadataKey,
              "' is reserved for metadata");
    SNN_CHECK(names.insert(named.name).second, "encode_safetensors: the name '", named.name,
              "' appears twice");
    SNN_CHECK(named.tensor.defined(), "encode_safetensors: tensor '", named.name, "' is undefined");
    const Tensor t = named.tensor.contiguous();
    const uint64_t nbytes = uint64_t(t.numel()) * dtype_size(t.dtype());
    std::vector<Json> shape;
    for (int64_t s : t.shape()) shape.push_back(Json::integer(s));
    header.emplace_back(
        named.name,
        Json::object({{"dtype", Json::string(safetensors_dtype_name(t.dtype()))},
                      {"shape", Json::array(std::move(shape))},
                      {"data_offsets", Json::array({Json::integer(int64_t(offset)),
                                                    Json::integer(int64_t(offset + nbytes))})}}));
    offset += nbytes;
    contiguous.push_back(t);
  }
  std::string header_text = Json::object(std::move(header)).dump();
  header_text.append((8 - header_text.size() % 8) % 8, ' ');  // keeps the data 8-byte aligned

  std::vector<uint8_t> bytes(8 + header_text.size() + offset);
  const uint64_t header_size = header_text.size();
  for (int b = 0; b < 8; ++b) bytes[b] = static_cast<uint8_t>(header_size >> (8 * b));
  std::memcpy(bytes.data() + 8, header_text.data(), header_text.size());
  uint8_t* data = bytes.data() + 8 + header_text.size();
  for (const Tensor& t : contiguous) {
    const size_t element = dtype_size(t.dtype());
    if (t.numel() > 0)
      copy_little_endian(data, static_cast<const uint8_t*>(t.raw_data()), t.numel(), element);
    data += t.numel() * element;
  }
  return bytes;
}

SafetensorsContent decode_safetensors(const uint8_t* bytes, size_t size,
                                      const std::string& source) {
  SNN_CHECK(size >= 8, source, ": truncated safetensors file: ", size,
            " bytes, shorter than the 8-byte header length it starts with");
  uint64_t header_size = 0;
  for (int b = 0; b < 8; ++b) header_size |= uint64_t(bytes[b]) << (8 * b);
  SNN_CHECK(header_size <= size - 8, source, ": header length ", header_size,
            " runs past the end of the file (", size,
            " bytes): truncated or not a safetensors file");
  SNN_CHECK(header_size <= kMaxHeaderBytes, source, ": header length ", header_size,
            " exceeds the limit of ", kMaxHeaderBytes, " bytes");
  const std::string header_text(reinterpret_cast<const char*>(bytes) + 8, header_size);
  SNN_CHECK(!header_text.empty() && header_text[0] == '{', source,
            ": the JSON header must start with '{' (not a safetensors file?)");
  Json header;
  try {
    header = parse_json(header_text);
  } catch (const Error& e) {
    fail(source, ": malformed JSON header: ", e.what());
  }
  SNN_CHECK(header.is_object(), source, ": the JSON header must be an object, got ",
            header.type_name());

  SafetensorsContent content;
  std::vector<Entry> entries;
  for (const auto& [name, info] : header.members()) {
    if (name == kMetadataKey) {
      SNN_CHECK(info.is_object(), source, ": ", kMetadataKey, " must be an object of strings, got ",
                info.type_name());
      for (const auto& [key, value] : info.members()) {
        SNN_CHECK(value.is_string(), source, ": ", kMetadataKey, " value of '", key,
                  "' must be a string, got ", value.type_name());
        content.metadata[key] = value.as_string();
      }
      continue;
    }
    entries.push_back(parse_entry(name, info, source));
  }

  // The data section must be covered exactly: sorted by offset, each tensor starts where the
  // previous one ended, and the last one ends at the end of the file.
  const uint64_t data_size = size - 8 - header_size;
  std::stable_sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end < b.end;
  });
  uint64_t expected_begin = 0;
  const Entry* previous = nullptr;
  for (const Entry& entry : entries) {
    SNN_CHECK(entry.end <= data_size, source, ": tensor '", entry.name, "': data_offsets ",
              offsets_str(entry.begin, entry.end), " out of range: the data section has ",
              data_size, " bytes (truncated file?)");
    SNN_CHECK(entry.begin >= expected_begin, source, ": tensors '", previous ? previous->name : "",
              "' ", previous ? offsets_str(previous->begin, previous->end) : "", " and '",
              entry.name, "' ", offsets_str(entry.begin, entry.end), " overlap");
    SNN_CHECK(entry.begin == expected_begin, source, ": bytes ",
              offsets_str(expected_begin, entry.begin),
              " of the data section belong to no tensor (a gap before '", entry.name, "')");
    expected_begin = entry.end;
    previous = &entry;
  }
  SNN_CHECK(expected_begin == data_size, source, ": bytes ", offsets_str(expected_begin, data_size),
            " at the end of the data section belong to no tensor");

  const uint8_t* data = bytes + 8 + header_size;
  for (const Entry& entry : entries) {
    Tensor t = Tensor::empty(entry.shape, entry.dtype);
    copy_little_endian(static_cast<uint8_t*>(t.raw_data()), data + entry.begin,
                       static_cast<size_t>(t.numel()), dtype_size(entry.dtype));
    content.tensors.push_back({entry.name, t});
  }
  return content;
}

void save_safetensors(const std::string& path, const std::vector<NamedTensor>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<uint8_t> bytes;
  try {
    bytes = encode_safetensors(tensors, metadata);
  } catch (const Error& e) {
    fail("save_safetensors(", path, "): ", e.what());
  }
  write_file_atomic(path, bytes.data(), bytes.size());
}

SafetensorsContent load_safetensors(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  SNN_CHECK(in.is_open(), "load_safetensors: cannot open ", path, ": ", std::strerror(errno));
  const std::streamoff size = in.tellg();
  SNN_CHECK(size >= 0, "load_safetensors: cannot read ", path);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  if (size > 0) in.read(reinterpret_cast<char*>(bytes.data()), size);
  SNN_CHECK(in.good() || size == 0, "load_safetensors: cannot read ", path, ": read failed");
  return decode_safetensors(bytes.data(), bytes.size(), path);
}

void copy_safetensors_into(const SafetensorsContent& content,
                           const std::vector<NamedTensor>& destinations, const std::string& source,
                           bool allow_unexpected) {
  std::vector<std::string> problems;
  std::set<std::string> wanted;
  for (const NamedTensor& destination : destinations) {
    wanted.insert(destination.name);
    const Tensor* stored = content.find(destination.name);
    const std::string where = "tensor '" + destination.name + "'";
    if (stored == nullptr) {
      problems.push_back(where + ": missing from the file");
      continue;
    }
    if (stored->shape() != destination.tensor.shape()) {
      problems.push_back(where + ": expected shape " + shape_str(destination.tensor.shape()) +
                         ", file has " + shape_str(stored->shape()));
    } else if (stored->dtype() != destination.tensor.dtype()) {
      problems.push_back(where + ": expected dtype " +
                         safetensors_dtype_name(destination.tensor.dtype()) + ", file has " +
                         safetensors_dtype_name(stored->dtype()));
    }
  }
  if (!allow_unexpected) {
    for (const NamedTensor& stored : content.tensors) {
      if (!wanted.count(stored.name))
        problems.push_back("tensor '" + stored.name + "': unexpected (not in the model)");
    }
  }
  if (!problems.empty()) {
    std::ostringstream message;
    message << source << ": " << problems.size()
            << (problems.size() == 1 ? " problem: " : " problems: ");
    for (size_t i = 0; i < problems.size(); ++i) message << (i ? "; " : "") << problems[i];
    throw Error(message.str());
  }
  for (const NamedTensor& destination : destinations) {
    Tensor view = destination.tensor;  // shares the destination's storage: the copy writes through
    view.copy_(*content.find(destination.name));
  }
}

}  // namespace stablenn
