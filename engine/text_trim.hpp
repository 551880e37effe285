// TextTrim: hands back the page-table entries this process holds for the read-only segments of
// its loaded ELF objects (the pylon binary, libc, libcrypto, SQLite, ...), so that its resident
// set is what it touches from then on, not everything start-up touched once. The daemon calls
// it once, a few seconds after it is ready (engine/daemon.cpp); issue 8's idle-RSS target.
//
// What it does: for every object dl_iterate_phdr lists (not the vDSO, not one with text
// relocations), for every PT_LOAD segment without PF_W, madvise(MADV_DONTNEED) on the whole
// pages inside it. Such a page of a private file mapping was never written (no copy-on-write
// copy exists: RELRO lies inside the writable segment, which is skipped), so dropping it only
// drops the mapping: the next access faults it back from the page cache (a minor fault, no
// I/O while the file stays cached), with the same bytes. System memory does not change (the
// pages stay in the page cache, reclaimable as before); the process's RSS does. Runs inside
// dl_iterate_phdr's callback, which holds the loader's lock, so no object can be unloaded (and
// its range reused) meanwhile. Any thread; other threads keep running (they fault back what
// they execute).
#pragma once

#include <cstddef>

namespace pylon::engine {

inline constexpr int text_trim_delay_ms = 5000;  // after the daemon is ready

struct TextTrimReport {
    std::size_t segments = 0;         // read-only segments given back
    std::size_t bytes = 0;            // their whole pages, resident or not
    std::size_t objects_skipped = 0;  // vDSO, text relocations
    int error = 0;                    // errno of the first madvise that failed (0: none)
};

// Drops this process's mappings of the pages of every read-only loaded segment (see above).
TextTrimReport trim_loaded_text() noexcept;

}  // namespace pylon::engine
