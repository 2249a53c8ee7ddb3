#include "runtime/allocator.h"

#include <Python.h>
#include <sys/mman.h>

#include <cstdlib>  // defines __GLIBC__ on glibc systems
#include <vector>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace lamina::runtime {
namespace {

constexpr size_t kMaxCachedArenaBytes = 64 * 1024 * 1024;

// Python's arena allocator with a cache of freed arenas: the default one unmaps every arena
// that empties, and the next event's objects fault fresh pages in again. Arenas all have
// the same size; a freed arena of another size is unmapped. The GIL serializes the calls.
struct ArenaCache {
  std::vector<void*> free_arenas;
  size_t arena_size = 0;
};

void* allocate_arena(void* context, size_t size) {
  auto* cache = static_cast<ArenaCache*>(context);
  if (size == cache->arena_size && !cache->free_arenas.empty()) {
    void* arena = cache->free_arenas.back();
    cache->free_arenas.pop_back();
    return arena;
  }
  void* arena = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return arena == MAP_FAILED ? nullptr : arena;
}

void free_arena(void* context, void* arena, size_t size) {
  auto* cache = static_cast<ArenaCache*>(context);
  if (cache->arena_size == 0) cache->arena_size = size;
  if (size == cache->arena_size && (cache->free_arenas.size() + 1) * size <= kMaxCachedArenaBytes) {
    cache->free_arenas.push_back(arena);
    return;
  }
  munmap(arena, size);
}

}  // namespace

void keep_freed_memory_for_next_invocation() {
#if defined(__GLIBC__)
  // Blocks below 32 MiB (glibc's largest mmap threshold) come from the heap, and up to
  // 128 MiB of free heap top is kept rather than trimmed.
  mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
  mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
  static ArenaCache cache;  // lives as long as the process: arenas outlive any owner
  static bool installed = false;
  if (installed) return;
  cache.free_arenas.reserve(kMaxCachedArenaBytes / (256 * 1024));
  PyObjectArenaAllocator allocator{&cache, allocate_arena, free_arena};
  PyObject_SetArenaAllocator(&allocator);
  installed = true;
}

}  // namespace lamina::runtime
