// Shows ThreadSanitizer the descriptors libuv closes, in -DDIRESOLVER_TSAN=ON builds.
//
// Debian's libuv closes with a raw syscall(SYS_close, fd) (uv__close_nocancel; only
// a libuv built with TSan calls close()), so TSan never learns that a descriptor of
// the event loop was closed. When the kernel hands the same number to another thread
// (civetweb's accept, a scrape's opendir, a worker's socket), TSan compares the new
// descriptor's state with the old one's and reports a data race between two different
// open files that merely shared a number, one after the other.
//
// Every program of a TSan build links this file (CMakeLists.txt), and an executable's
// definition comes before libc's in symbol lookup, so libuv's calls to syscall() land
// here. A close goes through close(), which TSan intercepts: it checks the close
// against earlier uses of the descriptor, then forgets them, as for any other close.
// Every other system call is passed on unchanged. Verified with a small program that
// closes a uv_pipe and has another thread reuse the number: TSan reports a race
// without this file and none with it.

#include <dlfcn.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdarg>

extern "C" long syscall(long number, ...) {
  // The kernel takes at most six arguments; unused ones are ignored, as by libc.
  long args[6];
  va_list list;
  va_start(list, number);
  for (auto& arg : args) arg = va_arg(list, long);
  va_end(list);
  if (number == SYS_close) return close(static_cast<int>(args[0]));
  using Syscall = long (*)(long, ...);
  static const auto libc_syscall = reinterpret_cast<Syscall>(dlsym(RTLD_NEXT, "syscall"));
  return libc_syscall(number, args[0], args[1], args[2], args[3], args[4], args[5]);
}
