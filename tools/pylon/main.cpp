// pylon: the CLI and the daemon. Thin by design: everything lives in engine/.
#include "engine/cli.hpp"
#include "engine/heap_trim.hpp"

#ifdef PYLON_WITH_MIMALLOC
#include <mimalloc.h>
#endif

int main(int argc, char** argv) {
#ifdef PYLON_WITH_MIMALLOC
    // Referencing mimalloc keeps the library linked (it overrides malloc process-wide).
    (void)mi_version();
    // Idle engine threads hand back the pages a burst of work freed (engine/heap_trim.hpp).
    pylon::engine::set_heap_trim([]() { mi_collect(true); });
#endif
    return pylon::engine::cli_main(argc, argv);
}
