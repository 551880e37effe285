// pylon: the CLI and the daemon. Thin by design: everything lives in engine/.
#include "engine/cli.hpp"

#ifdef PYLON_WITH_MIMALLOC
#include <mimalloc.h>
#endif

int main(int argc, char** argv) {
#ifdef PYLON_WITH_MIMALLOC
    // Referencing mimalloc keeps the library linked (it overrides malloc process-wide).
    (void)mi_version();
#endif
    return pylon::engine::cli_main(argc, argv);
}
