# Every dependency is a Debian 12 package (scripts/setup.sh installs them). Nothing is
# downloaded at build time.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)

pkg_check_modules(URING REQUIRED IMPORTED_TARGET liburing>=2.3)
pkg_check_modules(SECP256K1 REQUIRED IMPORTED_TARGET libsecp256k1)
find_package(OpenSSL 3 REQUIRED)
find_package(SQLite3 REQUIRED)
find_package(simdjson REQUIRED)
find_package(wslay REQUIRED)
find_package(mimalloc REQUIRED)
find_package(tomlplusplus REQUIRED)
if(PYLON_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(PYLON_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()

# Mark third-party include folders as system headers so -Werror applies to our code only.
foreach(dep simdjson::simdjson wslay mimalloc tomlplusplus::tomlplusplus)
  get_target_property(_inc ${dep} INTERFACE_INCLUDE_DIRECTORIES)
  if(_inc)
    set_target_properties(${dep} PROPERTIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES "${_inc}")
  endif()
endforeach()
