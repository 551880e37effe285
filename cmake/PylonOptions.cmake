# Compiler flags for our own targets: strict warnings as errors, sanitizer builds.
# Third-party headers are included as SYSTEM so their warnings do not fail our build.

set(PYLON_WARNINGS
    -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
    -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
    -Wnull-dereference -Wdouble-promotion -Wformat=2 -Wimplicit-fallthrough
    -Werror)

set(PYLON_SANITIZER_FLAGS "")
if(PYLON_SANITIZE AND PYLON_TSAN)
  message(FATAL_ERROR "PYLON_SANITIZE and PYLON_TSAN cannot be combined")
endif()
if(PYLON_SANITIZE)
  set(PYLON_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
endif()
if(PYLON_TSAN)
  set(PYLON_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
endif()
if(PYLON_SANITIZER_FLAGS)
  add_compile_options(${PYLON_SANITIZER_FLAGS})
  add_link_options(${PYLON_SANITIZER_FLAGS})
endif()

# pylon_target_defaults(<target>): warnings and include root for one of our targets.
function(pylon_target_defaults target)
  target_compile_options(${target} PRIVATE ${PYLON_WARNINGS})
  target_include_directories(${target} PUBLIC "${CMAKE_SOURCE_DIR}")
endfunction()

# pylon_add_library(<name> SOURCES ... DEPS ...): one library per folder.
function(pylon_add_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(${name} STATIC ${ARG_SOURCES})
  pylon_target_defaults(${name})
  target_link_libraries(${name} PUBLIC ${ARG_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
endfunction()

# pylon_add_test(<name> SOURCES ... DEPS ... LABELS ... [TIMEOUT s]): a GoogleTest executable
# registered with ctest under the given labels (unit, integration, soak, fuzz).
function(pylon_add_test name)
  cmake_parse_arguments(ARG "" "TIMEOUT" "SOURCES;DEPS;LABELS;ARGS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  pylon_target_defaults(${name})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gmock GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
      PYLON_VECTORS_DIR="${PYLON_VECTORS_DIR}"
      PYLON_SOURCE_DIR="${CMAKE_SOURCE_DIR}"
      PYLON_BINARY_DIR="${CMAKE_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name} ${ARG_ARGS})
  if(NOT ARG_TIMEOUT)
    set(ARG_TIMEOUT 300)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT ${ARG_TIMEOUT})
endfunction()

# pylon_folder_library(<name> DEPS ... PRIVATE_DEPS ...): the library of one source folder,
# made of every .cpp file in it (an INTERFACE library while the folder has headers only).
function(pylon_folder_library name)
  cmake_parse_arguments(ARG "" "" "DEPS;PRIVATE_DEPS" ${ARGN})
  file(GLOB _srcs CONFIGURE_DEPENDS "${CMAKE_CURRENT_SOURCE_DIR}/*.cpp")
  if(_srcs)
    pylon_add_library(${name} SOURCES ${_srcs} DEPS ${ARG_DEPS} PRIVATE_DEPS ${ARG_PRIVATE_DEPS})
  else()
    add_library(${name} INTERFACE)
    target_include_directories(${name} INTERFACE "${CMAKE_SOURCE_DIR}")
    target_link_libraries(${name} INTERFACE ${ARG_DEPS})
  endif()
endfunction()
