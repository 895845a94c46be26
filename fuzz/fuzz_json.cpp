// fuzz/fuzz_json.cpp — parse_json on any text; what parses must dump to text that parses to the
// same dump (issue 15).
#include <string>

#include "fuzz/fuzz_util.h"
#include "io/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::string dumped;
  try {
    dumped = stablenn::parse_json(text).dump();
  } catch (const stablenn::Error&) {
    return 0;
  }
  // Our dump escapes only what JSON requires, so invalid UTF-8 that nlohmann accepted cannot
  // appear: a failure here is a finding.
  if (stablenn::parse_json(dumped).dump() != dumped) __builtin_trap();
  return 0;
}
