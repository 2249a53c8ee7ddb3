// The one place that picks the stage-1 kernel a build uses: the SIMD kernel of the CPU
// family being compiled for, or the scalar one in a LAMINA_PORTABLE build (CMake defines it,
// and compiles only scalar/ then) and on any other CPU. CMake compiles haswell/ exactly when
// it passes -march=haswell, and arm64/ on aarch64; the guards below follow the same flags.
#pragma once

#include <string_view>

#include "json/scalar/kernel.h"

#if !defined(LAMINA_PORTABLE) && defined(__x86_64__) && defined(__AVX2__) && defined(__BMI__) && \
    defined(__PCLMUL__)
#define LAMINA_KERNEL_HASWELL 1
#include "json/haswell/kernel.h"
#elif !defined(LAMINA_PORTABLE) && defined(__aarch64__) && defined(__ARM_NEON)
#define LAMINA_KERNEL_ARM64 1
#include "json/arm64/kernel.h"
#endif

namespace lamina::json {

#if defined(LAMINA_KERNEL_HASWELL)
using ActiveKernel = haswell::Kernel;
#elif defined(LAMINA_KERNEL_ARM64)
using ActiveKernel = arm64::Kernel;
#else
using ActiveKernel = scalar::Kernel;
#endif

// Calls visit(Kernel{}) with the compiled-in kernel named `name` ("scalar" always, and the
// active SIMD kernel): how tests run every kernel on the same input. False for other names.
template <class Visitor>
bool visit_kernel(std::string_view name, Visitor&& visit) {
  if (name == scalar::Kernel::name) {
    visit(scalar::Kernel{});
    return true;
  }
  if (name == ActiveKernel::name) {
    visit(ActiveKernel{});
    return true;
  }
  return false;
}

}  // namespace lamina::json
