# Compiler flags for our own targets: strict warnings as errors, sanitizer builds.
# Third-party headers are included as SYSTEM so their warnings do not fail our build.

set(PYLON_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
    -Werror)

# GCC before 13 drops `#pragma GCC diagnostic` state from precompiled headers (fixed in 13), so
# libstdc++'s own suppression of its known false positives (char_traits.h: array-bounds,
# stringop-overflow, stringop-overread on inlined std::string copies) is lost in every TU that
# uses a PCH, and -Werror turns those false positives into failures. Silence exactly those three
# in PCH builds; a -DPYLON_PCH=OFF build (or clang) still checks them.
if(PYLON_PCH AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU"
   AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND PYLON_WARNINGS -Wno-array-bounds -Wno-stringop-overflow -Wno-stringop-overread)
endif()

# GCC 12 at -O3 (CMake's Release) reports -Wrestrict on std::string concatenation such as
# `"[" + std::string(text)` (GCC bug 105329: the inlined _M_replace is analysed with impossible
# sizes; fixed in 13). scripts/run.sh builds the node that way, so with -Werror the Quick start's
# run command failed to compile while the tests (-O2) passed. Off for GCC before 13 only.
if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 13)
  list(APPEND PYLON_WARNINGS -Wno-restrict)
endif()

# Clang before 19 leaves C++14 sized deallocation off unless asked (GCC has it on), and
# reactor/frame_pool.cpp frees frames with ::operator delete(p, size).
if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  add_compile_options($<$<COMPILE_LANGUAGE:CXX>:-fsized-deallocation>)
endif()

set(PYLON_SANITIZER_FLAGS "")
if(PYLON_SANITIZE AND PYLON_TSAN)
  message(FATAL_ERROR "PYLON_SANITIZE and PYLON_TSAN cannot be combined")
endif()
if(PYLON_SANITIZE)
  set(PYLON_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
  # Clang's 'undefined' includes -fsanitize=function (GCC has no such check), whose prologue data
  # clang 14 cannot emit for split coroutine functions ("error: Cannot represent a difference
  # across sections" in every TU with a coroutine); LLVM 17 reimplemented that check. Off there,
  # so the clang build checks what the GCC one does.
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang" AND CMAKE_CXX_COMPILER_VERSION VERSION_LESS 17)
    list(APPEND PYLON_SANITIZER_FLAGS -fno-sanitize=function)
  endif()
endif()
if(PYLON_TSAN)
  set(PYLON_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
endif()
if(PYLON_SANITIZER_FLAGS)
  add_compile_options(${PYLON_SANITIZER_FLAGS})
  add_link_options(${PYLON_SANITIZER_FLAGS})
endif()

# Linker (PYLON_LINKER: auto, lld, gold, bfd or default). auto uses lld when the compiler accepts
# -fuse-ld=lld: it links the ~130 test executables against the big static libraries about 3x
# faster than GNU ld (wall, measured on engine_store_test and daemon_test), more so in the ASan
# Debug build. The output is the same program; default keeps the compiler's own choice.
set(PYLON_LINKER auto CACHE STRING "Linker: auto (lld if usable), lld, gold, bfd or default")
if(PYLON_LINKER STREQUAL "auto")
  include(CheckLinkerFlag)
  check_linker_flag(CXX "-fuse-ld=lld" PYLON_HAVE_LLD)
  if(PYLON_HAVE_LLD)
    add_link_options(-fuse-ld=lld)
  endif()
elseif(NOT PYLON_LINKER STREQUAL "default")
  add_link_options(-fuse-ld=${PYLON_LINKER})
endif()

# pylon_target_defaults(<target>): warnings and include root for one of our targets.
function(pylon_target_defaults target)
  target_compile_options(${target} PRIVATE ${PYLON_WARNINGS})
  target_include_directories(${target} PUBLIC "${CMAKE_SOURCE_DIR}")
endfunction()

# Precompiled headers (PYLON_PCH, default ON): parsing the standard library, simdjson and
# GoogleTest is most of a translation unit's compile time, so each library of ours with
# PYLON_PCH_MIN_SOURCES or more .cpp files precompiles the standard headers below plus the
# third-party headers its folder names (pylon_folder_library ... PCH <simdjson.h>), and every test
# executable reuses one shared PCH (pylon_test_pch, see pylon_add_test). Only standard and
# third-party headers go in (never ours: an edit would rebuild every dependent PCH). A PCH is
# valid only with the flags and macros it was built with; CMake adds -Winvalid-pch and we build
# with -Werror, so a mismatch fails the build loudly instead of silently parsing everything again.
# Headers in a PCH are visible to every TU of the target: still include what you use (a
# -DPYLON_PCH=OFF build checks it).
set(PYLON_PCH_MIN_SOURCES 4)
set(PYLON_PCH_STD_HEADERS
    <algorithm> <array> <atomic> <cerrno> <charconv> <chrono> <condition_variable> <coroutine>
    <cstddef> <cstdint> <cstdio> <cstdlib> <cstring> <ctime> <deque> <functional> <limits>
    <memory> <mutex> <optional> <span> <string> <string_view> <thread> <type_traits>
    <unordered_map> <utility> <variant> <vector>)

# pylon_add_library(<name> SOURCES ... DEPS ... [PCH <header>...]): one library per folder. PCH
# names third-party headers most of its TUs include (e.g. <simdjson.h>, <liburing.h>).
function(pylon_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS;PCH" ${ARGN})
  if(PYLON_SHARED_LIBS)
    add_library(${name} SHARED ${ARG_SOURCES})
  else()
    add_library(${name} STATIC ${ARG_SOURCES})
  endif()
  pylon_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  list(LENGTH ARG_SOURCES _count)
  if(PYLON_PCH AND _count GREATER_EQUAL PYLON_PCH_MIN_SOURCES)
    target_precompile_headers(${name} PRIVATE ${PYLON_PCH_STD_HEADERS} ${ARG_PCH})
  endif()
endfunction()

# PYLON_TEST_OPT: compile flags that replace the build type's optimisation level for the test
# executables' own code only (the test PCH gets them too, so it stays valid); the libraries, tools
# and benchmarks under test keep the build type's level. scripts/test.sh builds its Release -O2
# tree with "-O1 -foptimize-sibling-calls": GoogleTest bodies compile about 1.5x faster than at
# -O2 (user+sys CPU, measured on daemon_test, runtime_test, nip44_test) while the code they test
# is what ships, and sibling calls keep symmetric transfer a tail call (reactor_task_test's
# 200,000-deep await chain needs it). Empty (the default): the build type's level.
set(PYLON_TEST_OPT "" CACHE STRING "Optimisation flags for the test executables' own code")
separate_arguments(_pylon_test_opt UNIX_COMMAND "${PYLON_TEST_OPT}")

# pylon_test_settings(<target> [NO_PCH]): what every test executable shares (pylon_add_test, the
# fuzz replays): warnings, GoogleTest, simdjson, the PYLON_*_DIR macros and the shared test PCH.
# The PCH target gets exactly the same settings, which is what keeps the reused PCH valid: every
# test links simdjson::simdjson so SIMDJSON_THREADS_ENABLED is the same everywhere. A test that
# needs its own compile options (another -O level, -f flags) must say NO_PCH.
function(pylon_test_settings target)
  cmake_parse_arguments(ARG "NO_PCH" "" "" ${ARGN})
  pylon_target_defaults(${target})
  target_compile_options(${target} PRIVATE ${_pylon_test_opt})
  target_link_libraries(${target} PRIVATE GTest::gtest simdjson::simdjson PkgConfig::URING)
  target_compile_definitions(${target} PRIVATE
      PYLON_VECTORS_DIR="${PYLON_VECTORS_DIR}"
      PYLON_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
      PYLON_BINARY_DIR="${CMAKE_BINARY_DIR}")
  if(PYLON_PCH AND NOT ARG_NO_PCH AND NOT target STREQUAL "pylon_test_pch")
    if(NOT TARGET pylon_test_pch)
      # Created on first use; an object library compiled once (its one TU is the PCH itself).
      if(NOT EXISTS "${CMAKE_BINARY_DIR}/pylon_test_pch.cpp")
        file(WRITE "${CMAKE_BINARY_DIR}/pylon_test_pch.cpp" "// The shared test PCH's TU.\n")
      endif()
      add_library(pylon_test_pch OBJECT "${CMAKE_BINARY_DIR}/pylon_test_pch.cpp")
      pylon_test_settings(pylon_test_pch)
      target_precompile_headers(pylon_test_pch PRIVATE
          <gtest/gtest.h> <simdjson.h> <liburing.h> ${PYLON_PCH_STD_HEADERS}
          <filesystem> <fstream> <map> <set> <sstream>)
    endif()
    target_precompile_headers(${target} REUSE_FROM pylon_test_pch)
  endif()
endfunction()

# pylon_add_test(<name> SOURCES ... DEPS ... LABELS ... [TIMEOUT s] [NO_PCH]): a GoogleTest
# executable registered with ctest under the given labels (unit, integration, soak, fuzz).
function(pylon_add_test name)
  cmake_parse_arguments(ARG "NO_PCH" "TIMEOUT" "SOURCES;DEPS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  if(ARG_NO_PCH)
    pylon_test_settings(${name} NO_PCH)
  else()
    pylon_test_settings(${name})
  endif()
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# pylon_folder_library(<name> DEPS ... PRIVATE_DEPS ... [PCH ...]): the library of one source
# folder, made of every .cpp file in it (an INTERFACE library while the folder has headers only).
function(pylon_folder_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS;PCH" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  if(_srcs)
    pylon_add_library(${name} SOURCES ${_srcs} DEPS ${ARG_DEPS} PRIVATE_DEPS ${ARG_PRIVATE_DEPS}
                      PCH ${ARG_PCH})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE "${CMAKE_SOURCE_DIR}")
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
