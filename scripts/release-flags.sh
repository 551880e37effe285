# Sourced by run.sh and test.sh: the optimisation the node is built with, in one place, so the
# binary the Quick start runs is compiled exactly as the one CI tests (CMake's Release default is
# -O3, which measured no faster here: bench/README.md "pipeline", session 13).
release_flags=(-DCMAKE_BUILD_TYPE=Release "-DCMAKE_CXX_FLAGS_RELEASE=-O2 -DNDEBUG"
  "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG")
