// The io_uring feature probe, run once at start-up before any shard exists. It names what is
// missing instead of crashing later: an old kernel, io_uring disabled by the
// kernel.io_uring_disabled sysctl, a seccomp filter (containers), or an opcode the reactor needs.
// Optional features (WAITID, PBUF_STATUS, ...) are reported so callers can pick fallbacks.
#pragma once

#include <string>
#include <vector>

#include "reactor/result.hpp"

namespace pylon::reactor {

struct UringFeatures {
    int kernel_major = 0;
    int kernel_minor = 0;
    std::string kernel_release;
    int io_uring_disabled = 0;    // /proc/sys/kernel/io_uring_disabled (0 when absent)
    unsigned last_op = 0;         // highest opcode the kernel knows
    bool ext_arg = false;         // wait with a timeout in one syscall
    bool defer_taskrun = false;   // SINGLE_ISSUER | DEFER_TASKRUN setup accepted
    bool buffer_ring = false;     // provided-buffer rings register
    bool multishot_recv = false;  // kernel 6.0+
    bool msg_ring = false;
    bool waitid = false;               // IORING_OP_WAITID (6.7+)
    bool read_multishot = false;       // IORING_OP_READ_MULTISHOT (6.7+)
    bool ktls = false;                 // TCP_ULP "tls" available
    std::vector<std::string> missing;  // required features that are absent (empty = usable)

    bool usable() const noexcept { return missing.empty(); }
    // One line per feature, for `pylon doctor`.
    std::vector<std::string> describe() const;
};

// Probes the running kernel. Never fails: problems go into `missing`, with hints.
UringFeatures probe_uring();

// The probe's verdict as a Status: an error naming every missing feature and what to do.
Status require_uring(const UringFeatures& features);

}  // namespace pylon::reactor
