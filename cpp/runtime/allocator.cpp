#include "runtime/allocator.h"

#include <cstdlib>  // defines __GLIBC__ on glibc systems

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lamina::runtime {

void keep_large_blocks_in_heap() {
#if defined(__GLIBC__)
  // Blocks below 32 MiB (glibc's largest mmap threshold) come from the heap, and up to
  // 128 MiB of free heap top is kept rather than trimmed.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
}

}  // namespace lamina::runtime
