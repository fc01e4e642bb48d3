// ThreadSanitizer's defaults for every program of a -DDIRESOLVER_TSAN=ON build.
//
// The top-level CMakeLists.txt links this file into each executable (the daemon,
// unit_tests, the bench tools), so a TSan binary run by hand, by ctest or by an
// integration test's harness uses the same suppressions without anyone setting
// TSAN_OPTIONS. Options in TSAN_OPTIONS still apply on top of these (.ci/run adds
// log_path there to collect every report).
//
// - suppressions: tests/tsan/suppressions.txt, false positives of uninstrumented
//   libraries only, each entry with its reason.
// - second_deadlock_stack: both stacks of a lock-order inversion, not just one.
// - history_size=4: longer per-thread access history (the default 2 loses the
//   "previous access" stack of a race on a busy worker), at some memory per thread.

extern "C" const char* __tsan_default_options() {
  return "suppressions=" DIRESOLVER_TSAN_SUPPRESSIONS " second_deadlock_stack=1 history_size=4";
}
