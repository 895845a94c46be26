# scripts/sanitizer_env.sh — runtime options for the AddressSanitizer + UBSan build (build-asan/),
# sourced by setup.sh, run_tests.sh and .ci/run. Options the caller already exported win.
#
# What was needed (Debian 12, GCC 12, OpenBLAS 0.3.21 OpenMP build, libgomp): nothing beyond the
# defaults. Leak detection stays on: LeakSanitizer reports neither OpenBLAS's buffers nor libgomp's
# thread pool (both still reachable at exit), and the whole suite passes with it. If LeakSanitizer
# cannot run at all (it refuses to start under ptrace, e.g. inside gdb or strace, and in some
# containers), export ASAN_OPTIONS=detect_leaks=0 before calling the scripts.
export_sanitizer_env() {
  # detect_stack_use_after_return also catches pointers to dead stack frames (views of temporaries).
  export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=1:strict_string_checks=1}"
  # UB is already fatal (-fno-sanitize-recover=undefined); print where it happened.
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
}
