#include "reactor/probe.hpp"

#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "reactor/uring_shims.hpp"

namespace pylon::reactor {
namespace {

int read_int_file(const char* path, int fallback) {
    FILE* f = std::fopen(path, "re");
    if (f == nullptr) {
        return fallback;
    }
    int v = fallback;
    if (std::fscanf(f, "%d", &v) != 1) {
        v = fallback;
    }
    std::fclose(f);
    return v;
}

std::string setup_hint(int err, int disabled) {
    if (err == EPERM || err == EACCES) {
        if (disabled != 0) {
            return "io_uring is restricted by sysctl kernel.io_uring_disabled=" +
                   std::to_string(disabled) +
                   " (set it to 0, or run as a member of "
                   "kernel.io_uring_group)";
        }
        return "io_uring_setup was denied (EPERM): a seccomp filter or container runtime blocks "
               "io_uring; allow the io_uring_setup/enter/register syscalls";
    }
    if (err == ENOSYS) {
        return "io_uring_setup is not available (ENOSYS): kernel built without io_uring, or a "
               "seccomp filter returns ENOSYS for it";
    }
    if (err == ENOMEM) {
        return "io_uring_setup failed with ENOMEM: RLIMIT_MEMLOCK too low for the ring (raise "
               "LimitMEMLOCK)";
    }
    return std::string("io_uring_setup failed: ") + std::strerror(err);
}

bool probe_ktls() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return false;
    }
    // TCP_ULP on an unconnected socket fails with ENOTCONN when the "tls" ULP exists and with
    // ENOENT when it does not.
    int rc = ::setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof "tls");
    int err = errno;
    ::close(fd);
    return rc == 0 || err == ENOTCONN;
}

void probe_ring(UringFeatures& f) {
    io_uring ring{};
    io_uring_params p{};
    p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SUBMIT_ALL;
    int rc = io_uring_queue_init_params(8, &ring, &p);
    if (rc < 0) {
        io_uring_params plain{};
        int rc2 = io_uring_queue_init_params(8, &ring, &plain);
        if (rc2 < 0) {
            f.missing.push_back(setup_hint(-rc2, f.io_uring_disabled));
            return;
        }
        f.missing.push_back("SINGLE_ISSUER|DEFER_TASKRUN ring setup refused (kernel 6.1+ needed)");
    } else {
        f.defer_taskrun = true;
    }
    f.ext_arg = (p.features & IORING_FEAT_EXT_ARG) != 0;
    if (io_uring_probe* probe = io_uring_get_probe_ring(&ring)) {
        f.last_op = probe->last_op;
        auto has = [probe](unsigned op) {
            return op <= probe->last_op && (probe->ops[op].flags & IO_URING_OP_SUPPORTED) != 0;
        };
        struct Need {
            unsigned op;
            const char* name;
        };
        static const Need needs[] = {
            {IORING_OP_RECV, "RECV"},         {IORING_OP_SEND, "SEND"},
            {IORING_OP_SENDMSG, "SENDMSG"},   {IORING_OP_ACCEPT, "ACCEPT"},
            {IORING_OP_CONNECT, "CONNECT"},   {IORING_OP_READ, "READ"},
            {IORING_OP_WRITE, "WRITE"},       {IORING_OP_CLOSE, "CLOSE"},
            {IORING_OP_POLL_ADD, "POLL_ADD"}, {IORING_OP_ASYNC_CANCEL, "ASYNC_CANCEL"},
            {IORING_OP_SHUTDOWN, "SHUTDOWN"}, {IORING_OP_MSG_RING, "MSG_RING"},
        };
        for (const Need& n : needs) {
            if (!has(n.op)) {
                f.missing.push_back(std::string("io_uring opcode ") + n.name + " is not supported");
            }
        }
        f.msg_ring = has(IORING_OP_MSG_RING);
        f.waitid = has(uring::op_waitid);
        f.read_multishot = has(uring::op_read_multishot);
        io_uring_free_probe(probe);
    } else {
        f.missing.push_back("io_uring probe failed (kernel 5.6+ needed)");
    }
    // Provided-buffer ring registration.
    void* mem = nullptr;
    if (::posix_memalign(&mem, 4096, 4096) == 0) {
        io_uring_buf_reg reg{};
        reg.ring_addr = reinterpret_cast<__u64>(mem);
        reg.ring_entries = 8;
        reg.bgid = 7;
        if (io_uring_register_buf_ring(&ring, &reg, 0) == 0) {
            f.buffer_ring = true;
            io_uring_unregister_buf_ring(&ring, 7);
        }
        std::free(mem);
    }
    if (!f.buffer_ring) {
        f.missing.push_back("provided-buffer rings are not supported (kernel 5.19+ needed)");
    }
    io_uring_queue_exit(&ring);
}

}  // namespace

UringFeatures probe_uring() {
    UringFeatures f;
    utsname u{};
    if (::uname(&u) == 0) {
        f.kernel_release = u.release;
        std::sscanf(u.release, "%d.%d", &f.kernel_major, &f.kernel_minor);
    }
    f.io_uring_disabled = read_int_file("/proc/sys/kernel/io_uring_disabled", 0);
    f.multishot_recv = f.kernel_major > 6 || (f.kernel_major == 6 && f.kernel_minor >= 0);
    if (f.kernel_major < 6 || (f.kernel_major == 6 && f.kernel_minor < 1)) {
        f.missing.push_back("kernel " + f.kernel_release +
                            " is too old: Pylon needs Linux 6.1 or newer (multishot receive, "
                            "DEFER_TASKRUN, MSG_RING)");
    }
    if (f.io_uring_disabled == 2) {
        f.missing.push_back(
            "io_uring is disabled by sysctl kernel.io_uring_disabled=2 "
            "(set it to 0: sysctl -w kernel.io_uring_disabled=0)");
        return f;
    }
    probe_ring(f);
    f.ktls = probe_ktls();
    return f;
}

std::vector<std::string> UringFeatures::describe() const {
    auto yes = [](bool b) { return b ? "yes" : "no"; };
    std::vector<std::string> out;
    out.push_back("kernel " + kernel_release);
    out.push_back("kernel.io_uring_disabled = " + std::to_string(io_uring_disabled));
    out.push_back("last opcode " + std::to_string(last_op));
    out.push_back(std::string("SINGLE_ISSUER|DEFER_TASKRUN: ") + yes(defer_taskrun));
    out.push_back(std::string("EXT_ARG wait timeout: ") + yes(ext_arg));
    out.push_back(std::string("provided-buffer ring: ") + yes(buffer_ring));
    out.push_back(std::string("MSG_RING: ") + yes(msg_ring));
    out.push_back(std::string("WAITID (pidfd exit without polling): ") + yes(waitid));
    out.push_back(std::string("READ_MULTISHOT: ") + yes(read_multishot));
    out.push_back(std::string("kTLS (TCP_ULP tls): ") + yes(ktls));
    return out;
}

Status require_uring(const UringFeatures& features) {
    if (features.usable()) {
        return Ok{};
    }
    std::string msg = "io_uring cannot be used here:";
    for (const auto& m : features.missing) {
        msg += "\n  - " + m;
    }
    return Error(Errc::unsupported, msg);
}

}  // namespace pylon::reactor
