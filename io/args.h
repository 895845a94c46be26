// io/args.h — command-line flags for the chapter programs and the benchmarks (chapter 1).
//
// One parser for every program: "--name VALUE" and "--name=VALUE", boolean flags without a value,
// and strict numbers: the whole string must be the number ("1xyz" is refused), and it must lie in
// the range the flag allows ("--cell 4294967297" is refused, never wrapped). Every error is an
// args::UsageError whose message names the flag, what was expected and what was given; programs
// print it with their usage and exit with status 2.
#pragma once
#include <cstdint>
#include <functional>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

namespace stablenn::args {

// Chapter 1: a bad command line (unknown flag, missing or malformed value). Exit status 2.
class UsageError : public std::invalid_argument {
 public:
  explicit UsageError(const std::string& what) : std::invalid_argument(what) {}
};

// Chapter 1: a flag a program accepts: "--name" (boolean) or "--name VALUE" (takes_value).
struct FlagSpec {
  std::string name;  // without the leading dashes
  bool takes_value = false;
};

// Chapter 1: one flag as given on the command line; `value` is "" for a boolean flag.
struct GivenFlag {
  std::string name;
  std::string value;
};

// Chapter 1: splits argv[1..] into flags, in order. Throws UsageError for an argument that is not
// a flag, a flag not in `known`, a value missing after a flag that takes one, or "--name=VALUE" for
// a boolean flag.
std::vector<GivenFlag> split_flags(int argc, char** argv, const std::vector<FlagSpec>& known);

// Chapter 1: strict numbers. `flag` is the name used in messages, e.g. "--cell". Each throws
// UsageError unless the whole of `text` is one number in [min, max] (doubles must be finite).
int64_t parse_int(const std::string& flag, const std::string& text,
                  int64_t min = std::numeric_limits<int64_t>::min(),
                  int64_t max = std::numeric_limits<int64_t>::max());
uint64_t parse_uint(const std::string& flag, const std::string& text,
                    uint64_t max = std::numeric_limits<uint64_t>::max());
double parse_double(const std::string& flag, const std::string& text,
                    double min = -std::numeric_limits<double>::max(),
                    double max = std::numeric_limits<double>::max());
// Chapter 1: "32,64,128": exactly `count` whole numbers in [min, max] (count 0: any number >= 1).
std::vector<int64_t> parse_int_list(const std::string& flag, const std::string& text, size_t count,
                                    int64_t min, int64_t max);
// Chapter 1: one of `choices`, spelled exactly.
std::string parse_choice(const std::string& flag, const std::string& text,
                         const std::vector<std::string>& choices);
// Chapter 1: "a,b": one or more of `choices`, comma-separated.
std::vector<std::string> parse_choice_list(const std::string& flag, const std::string& text,
                                           const std::vector<std::string>& choices);

// Chapter 1: a check run on a flag's value as soon as the command line is read, before any work
// starts; it throws UsageError naming the flag. Made by the functions below.
using ValueCheck = std::function<void(const std::string& flag, const std::string& value)>;
ValueCheck whole_number(int64_t min = 1, int64_t max = std::numeric_limits<int32_t>::max());
ValueCheck number(double min = -std::numeric_limits<double>::max(),
                  double max = std::numeric_limits<double>::max());
ValueCheck one_of(std::vector<std::string> choices);
ValueCheck some_of(std::vector<std::string> choices);
ValueCheck whole_numbers(size_t count, int64_t min = 1,
                         int64_t max = std::numeric_limits<int32_t>::max());

}  // namespace stablenn::args
