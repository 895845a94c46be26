// fuzz/fuzz_args.cpp — the command-line parser on any argument list: the input, split at NUL bytes,
// is argv[1..] (issue 15). A bad command line must end in args::UsageError; what parses must lie in
// the range the flag allows.
#include <cmath>
#include <string>
#include <vector>

#include "io/args.h"

using namespace stablenn;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<std::string> words(1, "program");
  words.emplace_back();
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      words.emplace_back();
    } else {
      words.back().push_back(static_cast<char>(data[i]));
    }
  }
  std::vector<char*> argv;
  for (std::string& w : words) argv.push_back(w.data());
  const std::vector<args::FlagSpec> known = {{"cell", true},  {"lr", true},    {"widths", true},
                                             {"models", true}, {"attacks", true}, {"smoke", false}};
  try {
    for (const args::GivenFlag& flag : args::split_flags(static_cast<int>(argv.size()), argv.data(), known)) {
      if (flag.name == "cell") {
        const int64_t cell = args::parse_int("--cell", flag.value, 1, 1000);
        if (cell < 1 || cell > 1000) __builtin_trap();
      } else if (flag.name == "lr") {
        const double lr = args::parse_double("--lr", flag.value, 0, 10);
        if (!std::isfinite(lr) || lr < 0 || lr > 10) __builtin_trap();
      } else if (flag.name == "widths") {
        for (int64_t w : args::parse_int_list("--widths", flag.value, 0, 1, 65536))
          if (w < 1 || w > 65536) __builtin_trap();
      } else if (flag.name == "models") {
        args::parse_choice("--models", flag.value, {"resnet", "nonexpansive"});
      } else if (flag.name == "attacks") {
        args::parse_choice_list("--attacks", flag.value, {"fgsm", "pgd", "apgd"});
      }
    }
  } catch (const args::UsageError&) {
    return 0;
  }
  return 0;
}
