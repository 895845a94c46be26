# scripts/sanitizer_env.sh — runtime options for the AddressSanitizer + UBSan build (build-asan/),
# sourced by setup.sh and run_tests.sh. Settings the caller already exported win.
export_sanitizer_env() {
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:strict_string_checks=1:detect_stack_use_after_return=1}"
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
}
