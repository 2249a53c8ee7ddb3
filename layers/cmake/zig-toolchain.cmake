# Cross toolchain for lamina's native modules: Zig's clang, pinned to Amazon Linux 2023's glibc.
#
#   cmake -S . -B build/arm64 -DCMAKE_TOOLCHAIN_FILE=layers/cmake/zig-toolchain.cmake \
#         -DLAMINA_TARGET_ARCH=aarch64 -DLAMINA_ZIG=$(python -c 'import ziglang, os; print(os.path.dirname(ziglang.__file__))')/zig
#
# `-target <arch>-linux-gnu.2.34` links against glibc 2.34's symbol versions whatever glibc the
# build machine has, and Zig links its own libc++/libunwind statically: the modules load on
# provided.al2023 and need no libstdc++ (../../shared/spec/packaging.md). `lamina layer build`
# drives this file (src/lamina/packaging/native_build.py); it also works by hand as above.

set(LAMINA_TARGET_ARCH "x86_64" CACHE STRING "x86_64 or aarch64")
set(LAMINA_GLIBC_VERSION "2.34" CACHE STRING "the oldest glibc the modules must load with")
set(LAMINA_ZIG "zig" CACHE FILEPATH "the zig executable (PyPI's ziglang ships one)")
# try_compile() projects read this file again and need the same three settings.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES LAMINA_TARGET_ARCH LAMINA_GLIBC_VERSION LAMINA_ZIG)

# The target Python's headers and version, when the caller describes them (native_build.py
# does): target-python/FindPython.cmake then replaces CMake's, which would insist on running
# an interpreter of the target's version.
if(DEFINED LAMINA_TARGET_PYTHON_INCLUDE)
  list(APPEND CMAKE_MODULE_PATH "${CMAKE_CURRENT_LIST_DIR}/target-python")
endif()

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR ${LAMINA_TARGET_ARCH})  # CMakeLists.txt picks -march=haswell on x86_64

# CMake wants one executable per tool, so each Zig subcommand gets a two-line wrapper script.
set(_lamina_zig_target "${LAMINA_TARGET_ARCH}-linux-gnu.${LAMINA_GLIBC_VERSION}")
set(_lamina_wrappers "${CMAKE_BINARY_DIR}/zig-${_lamina_zig_target}")
foreach(_tool cc c++ ar ranlib)
  if(_tool MATCHES "^(cc|c\\+\\+)$")
    set(_command "exec \"${LAMINA_ZIG}\" ${_tool} -target ${_lamina_zig_target} \"$@\"")
  else()
    set(_command "exec \"${LAMINA_ZIG}\" ${_tool} \"$@\"")
  endif()
  file(WRITE "${_lamina_wrappers}/${_tool}" "#!/bin/sh\n${_command}\n")
  file(CHMOD "${_lamina_wrappers}/${_tool}" PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
set(CMAKE_C_COMPILER "${_lamina_wrappers}/cc")
set(CMAKE_CXX_COMPILER "${_lamina_wrappers}/c++")
set(CMAKE_AR "${_lamina_wrappers}/ar" CACHE FILEPATH "" FORCE)
set(CMAKE_RANLIB "${_lamina_wrappers}/ranlib" CACHE FILEPATH "" FORCE)

# The build machine's strip may not know the target's format: link stripped instead, and make
# pybind11's post-build strip step a no-op.
set(CMAKE_STRIP "/bin/true" CACHE FILEPATH "" FORCE)
set(CMAKE_MODULE_LINKER_FLAGS_INIT "-s")
set(CMAKE_SHARED_LINKER_FLAGS_INIT "-s")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-s")
