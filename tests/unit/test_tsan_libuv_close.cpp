// Only in -DDIRESOLVER_TSAN=ON builds: a descriptor number that libuv closed and
// another thread reuses draws no ThreadSanitizer report (tests/tsan/libuv_close.cpp).
// Without that shim TSan misses libuv's close and reports a race on the number,
// which fails this program (TSan's exit code), as it failed integration tests.

#include <doctest/doctest.h>
#include <dirent.h>
#include <uv.h>

#include <atomic>
#include <thread>
#include <vector>

namespace {

void close_with_libuv(uv_loop_t* loop, uv_file fd) {
  auto* pipe = new uv_pipe_t;
  uv_pipe_init(loop, pipe, 0);
  uv_pipe_open(pipe, fd);
  uv_close(reinterpret_cast<uv_handle_t*>(pipe), [](uv_handle_t* h) { delete reinterpret_cast<uv_pipe_t*>(h); });
}

}  // namespace

TEST_CASE("a descriptor libuv closed is reused by another thread without a TSan report") {
  // Relaxed, so the flag orders nothing for TSan: only the close can make the reuse clean.
  std::atomic<bool> closed{false};
  int reused_fd = -1;
  std::atomic<int> fd_to_reuse{-1};
  std::thread other([&] {
    while (!closed.load(std::memory_order_relaxed)) std::this_thread::yield();
    // The kernel hands out the lowest free number: open until it is the pipe's.
    std::vector<DIR*> dirs;
    while (reused_fd != fd_to_reuse && dirs.size() < 64) {
      dirs.push_back(opendir("/proc/self"));
      reused_fd = dirfd(dirs.back());
    }
    for (DIR* dir : dirs) closedir(dir);
  });
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_file fds[2];
  REQUIRE(uv_pipe(fds, 0, 0) == 0);
  fd_to_reuse.store(fds[0], std::memory_order_relaxed);
  close_with_libuv(&loop, fds[0]);
  close_with_libuv(&loop, fds[1]);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  closed.store(true, std::memory_order_relaxed);
  other.join();
  CHECK(reused_fd == fd_to_reuse.load(std::memory_order_relaxed));
}
