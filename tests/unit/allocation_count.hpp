// Heap allocations made by the calling thread so far. The unit test binary
// replaces the global operator new (allocation_count.cpp) to count them.
#pragma once

#include <cstddef>

namespace diresolver::test {
size_t allocation_count();
}
