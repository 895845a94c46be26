// core/error.h — the one exception type of stablenn (chapter 1).
// Every check that fails throws stablenn::Error with a message naming the operation and what was wrong.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>

namespace stablenn {

// Chapter 1: all library errors (bad shapes, axes, dtypes, files) are reported with this type.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Rest>
void append(std::ostringstream& os, const T& first, const Rest&... rest) {
  os << first;
  append(os, rest...);
}
}  // namespace detail

// Builds a message from any streamable pieces: fail("matmul: shapes ", a, " and ", b, " ...").
template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  std::ostringstream os;
  detail::append(os, parts...);
  throw Error(os.str());
}

}  // namespace stablenn

// Check a condition; on failure throw stablenn::Error built from the remaining arguments.
#define SNN_CHECK(cond, ...)                   \
  do {                                         \
    if (!(cond)) ::stablenn::fail(__VA_ARGS__); \
  } while (0)
