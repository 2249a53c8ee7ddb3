// How the runtime process's allocators treat memory that an invocation frees.
#pragma once

namespace lamina::runtime {

// Keeps freed large blocks (event bodies, their Python bytes, encoded responses) in the C
// heap for the next invocation, and freed arenas of Python's small-object allocator for the
// next event's objects, instead of returning both to the kernel. With the defaults, a 1 MB
// event is mmap'ed, faulted in page by page and unmapped again on every invocation, and so
// are the arenas of the ~100,000 objects an 850 KB event decodes to: measured here, that was
// 80% of the time of a 1 MB event that is not even decoded. Peak RSS does not change (that
// memory was resident at the peak anyway); at most 64 MiB of arenas are kept.
// Requires the GIL (it installs Python's arena allocator). The C heap part needs glibc.
void keep_freed_memory_for_next_invocation();

}  // namespace lamina::runtime
