// The one place that picks the stage-1 kernel a build uses. A SIMD kernel (haswell/, arm64/)
// is added by including its kernel.h and choosing it here under its compile-time guard.
#pragma once

#include "json/scalar/kernel.h"

namespace lamina::json {

using ActiveKernel = scalar::Kernel;

}  // namespace lamina::json
