#include "engine/text_trim.hpp"

#include <elf.h>
#include <link.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>

namespace pylon::engine {

namespace {

struct TrimState {
    TextTrimReport report;
    std::uintptr_t vdso = 0;
    std::uintptr_t page = 4096;
};

// True if the object's dynamic section asks for text relocations (its read-only segments were
// written by the loader: dropping them would undo that).
bool has_text_relocations(const dl_phdr_info* info) {
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_DYNAMIC) {
            continue;
        }
        const auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info->dlpi_addr + ph.p_vaddr);
        for (; dyn->d_tag != DT_NULL; dyn++) {
            if (dyn->d_tag == DT_TEXTREL ||
                (dyn->d_tag == DT_FLAGS && (dyn->d_un.d_val & DF_TEXTREL) != 0)) {
                return true;
            }
        }
    }
    return false;
}

// The vDSO's ELF header address is its load base in dl_iterate_phdr's list.
bool is_vdso(const dl_phdr_info* info, std::uintptr_t vdso) {
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type == PT_LOAD && ph.p_offset == 0) {
            return info->dlpi_addr + ph.p_vaddr == vdso;
        }
    }
    return false;
}

int trim_object(dl_phdr_info* info, std::size_t, void* data) {
    auto* state = static_cast<TrimState*>(data);
    if ((state->vdso != 0 && is_vdso(info, state->vdso)) || has_text_relocations(info)) {
        state->report.objects_skipped++;
        return 0;
    }
    for (ElfW(Half) i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr)& ph = info->dlpi_phdr[i];
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0 || ph.p_memsz == 0) {
            continue;
        }
        // Whole pages inside the segment only: a page it shares with a neighbour stays.
        std::uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
        std::uintptr_t end = begin + ph.p_memsz;
        begin = (begin + state->page - 1) & ~(state->page - 1);
        end &= ~(state->page - 1);
        if (end <= begin) {
            continue;
        }
        if (::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED) != 0) {
            if (state->report.error == 0) {
                state->report.error = errno;
            }
            continue;
        }
        state->report.segments++;
        state->report.bytes += end - begin;
    }
    return 0;
}

}  // namespace

TextTrimReport trim_loaded_text() noexcept {
    TrimState state;
    state.vdso = static_cast<std::uintptr_t>(::getauxval(AT_SYSINFO_EHDR));
    long page = ::sysconf(_SC_PAGESIZE);
    if (page > 0) {
        state.page = static_cast<std::uintptr_t>(page);
    }
    ::dl_iterate_phdr(trim_object, &state);
    return state.report;
}

}  // namespace pylon::engine
