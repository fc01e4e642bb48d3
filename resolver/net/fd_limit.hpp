// Running out of file descriptors, seen and survived.
//
// At the limit every socket() and accept() fails. A listener that retries at
// once spins its loop (libuv's own accept does, once its spare descriptor is
// taken), and a probe that cannot open a socket would blame a healthy server.
// So failures for lack of descriptors are told apart (is_shortage), a few
// descriptors are kept back from clients for upstream sockets and probes
// (in_reserve: POSIX hands out the lowest free number, so a new descriptor's
// number is how many are in use below it), and the event is logged at most
// once a minute for the whole process, however many loops meet it.
#pragma once

#include <string_view>

namespace diresolver::fd_limit {

// EMFILE, ENFILE, ENOBUFS or ENOMEM, as errno (positive) or libuv (negative) reports it.
bool is_shortage(int error);

// The soft RLIMIT_NOFILE now.
unsigned soft_limit();

// True when `fd` is one of the last `reserve` numbers below the soft limit.
bool in_reserve(int fd, unsigned reserve);

// "warn: out of file descriptors (limit N): WHAT", unless logged in the last minute.
void report(std::string_view what);

}  // namespace diresolver::fd_limit
