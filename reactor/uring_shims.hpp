// Small inline fills for what liburing 2.3 (Debian 12) lacks, written from the kernel uapi
// (see ../shared/reference/io_uring.md §3.1 and §10). Each one prepares an SQE field by field;
// the kernel (6.7+ for WAITID) interprets it. Guarded so a newer liburing's own helpers win.
#pragma once

#include <liburing.h>
#include <signal.h>
#include <sys/wait.h>

namespace pylon::reactor::uring {

// Opcodes past liburing 2.3's enum (IORING_OP_SENDMSG_ZC = 48 is its last).
inline constexpr unsigned char op_read_multishot = 49;
inline constexpr unsigned char op_waitid = 50;

// waitid(idtype, id, infop, options) as an SQE: fd = id, len = idtype, file_index = options,
// addr2 = siginfo pointer, op flags 0. The siginfo must live until the CQE.
inline void prep_waitid(io_uring_sqe* sqe, idtype_t idtype, id_t id, siginfo_t* infop,
                        int options) {
    io_uring_prep_rw(IORING_OP_NOP, sqe, static_cast<int>(id), nullptr,
                     static_cast<unsigned>(idtype), 0);
    sqe->opcode = op_waitid;
    sqe->rw_flags = 0;
    sqe->file_index = static_cast<__u32>(options);
    sqe->addr2 = reinterpret_cast<__u64>(infop);
}

// Multishot read from a pollable fd (eventfd, signalfd) into provided buffers of `bgid`.
inline void prep_read_multishot(io_uring_sqe* sqe, int fd, unsigned nbytes, __u64 offset,
                                int bgid) {
    io_uring_prep_rw(IORING_OP_NOP, sqe, fd, nullptr, nbytes, offset);
    sqe->opcode = op_read_multishot;
    sqe->buf_group = static_cast<__u16>(bgid);
    sqe->flags |= IOSQE_BUFFER_SELECT;
}

// Constants newer than liburing 2.3.
inline constexpr unsigned cqe_f_buf_more = 1U << 4;
inline constexpr unsigned register_pbuf_status = 26;
inline constexpr unsigned register_send_msg_ring = 31;

}  // namespace pylon::reactor::uring
