# FindPython for cross builds: the *target* Python described by the caller, not found by asking
# an interpreter. CMake's own FindPython insists that the headers and the interpreter it runs
# have the same version; a layer for python3.13 built on a 3.11 machine has 3.13 headers and
# runs the build machine's Python only for Cython, whose C output suits every version.
# zig-toolchain.cmake puts this folder on CMAKE_MODULE_PATH when these are given:
#   LAMINA_TARGET_PYTHON_VERSION   e.g. 3.13
#   LAMINA_TARGET_PYTHON_INCLUDE   the folder with Python.h
#   Python_SOABI                   e.g. cpython-313-aarch64-linux-gnu
#   Python_EXECUTABLE              the build machine's Python (with Cython)
# It provides what lamina's CMakeLists.txt and pybind11 use: Python::Interpreter,
# Python::Module, Python_add_library(... MODULE [WITH_SOABI] ...) and the version variables.

include(FindPackageHandleStandardArgs)

set(Python_VERSION "${LAMINA_TARGET_PYTHON_VERSION}")
string(REPLACE "." ";" _lamina_version_parts "${Python_VERSION}.0")
list(GET _lamina_version_parts 0 Python_VERSION_MAJOR)
list(GET _lamina_version_parts 1 Python_VERSION_MINOR)
list(GET _lamina_version_parts 2 Python_VERSION_PATCH)
set(Python_INCLUDE_DIRS "${LAMINA_TARGET_PYTHON_INCLUDE}")
set(Python_INTERPRETER_ID "Python")
set(Python_Interpreter_FOUND TRUE)
set(Python_Development.Module_FOUND TRUE)
set(Python_Development.Embed_FOUND FALSE)  # an extension module never links libpython

if(NOT TARGET Python::Interpreter)
  add_executable(Python::Interpreter IMPORTED GLOBAL)
  set_property(TARGET Python::Interpreter PROPERTY IMPORTED_LOCATION "${Python_EXECUTABLE}")
endif()
if(NOT TARGET Python::Module)
  add_library(Python::Module INTERFACE IMPORTED GLOBAL)
  set_property(TARGET Python::Module PROPERTY INTERFACE_INCLUDE_DIRECTORIES "${Python_INCLUDE_DIRS}")
endif()

find_package_handle_standard_args(Python
  REQUIRED_VARS Python_EXECUTABLE Python_INCLUDE_DIRS Python_SOABI
  VERSION_VAR Python_VERSION
  HANDLE_COMPONENTS)

function(Python_add_library name)
  cmake_parse_arguments(PARSE_ARGV 1 ARG "STATIC;SHARED;MODULE;WITH_SOABI" "USE_SABI" "")
  if(ARG_STATIC)
    set(type STATIC)
  elseif(ARG_SHARED)
    set(type SHARED)
  else()
    set(type MODULE)
  endif()
  add_library(${name} ${type} ${ARG_UNPARSED_ARGUMENTS})
  target_link_libraries(${name} PRIVATE Python::Module)
  if(type STREQUAL "MODULE")
    set(suffix ".so")
    if(ARG_WITH_SOABI)
      set(suffix ".${Python_SOABI}.so")
    endif()
    set_target_properties(${name} PROPERTIES PREFIX "" SUFFIX "${suffix}")
  endif()
endfunction()
