// How the runtime process's C allocator treats large blocks.
#pragma once

namespace lamina::runtime {

// Keeps freed large blocks (event bodies, their Python bytes, encoded responses) in the heap
// for the next invocation instead of returning them to the kernel. With glibc's defaults a
// 1 MB event is mmap'ed, faulted in page by page and unmapped again on every invocation:
// measured here, that is 80% of the time spent on a 1 MB event that is not even decoded.
// Peak RSS does not change (the blocks were resident at the peak anyway). No-op without glibc.
void keep_large_blocks_in_heap();

}  // namespace lamina::runtime
