#include "engine/file_ops.hpp"

#include <fcntl.h>
#include <liburing.h>

#include <cstring>

#include "reactor/ops.hpp"

namespace pylon::engine {
namespace {

using reactor::Op;
using reactor::Task;

io_uring_sqe blank_sqe() {
    io_uring_sqe s;
    std::memset(&s, 0, sizeof s);
    return s;
}

// The SQEs are built in plain functions: an io_uring_sqe cannot live in a coroutine frame
// (its flexible array member is refused under -Wpedantic).
Op openat_op(const char* path, int flags, mode_t mode) {
    io_uring_sqe s = blank_sqe();
    io_uring_prep_openat(&s, AT_FDCWD, path, flags, mode);
    return Op(s, {});
}

Op renameat_op(const char* from, const char* to) {
    io_uring_sqe s = blank_sqe();
    io_uring_prep_renameat(&s, AT_FDCWD, from, AT_FDCWD, to, 0);
    return Op(s, {});
}

Op unlinkat_op(const char* path) {
    io_uring_sqe s = blank_sqe();
    io_uring_prep_unlinkat(&s, AT_FDCWD, path, 0);
    return Op(s, {});
}

// Writes all of `data` at increasing offsets: 0 or -errno.
Task<int> write_all(int fd, const char* data, std::size_t size) {
    std::size_t done = 0;
    while (done < size) {
        int n = co_await reactor::write(fd, data + done, size - done, done);
        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n <= 0) {
            co_return n < 0 ? n : -EIO;
        }
        done += static_cast<std::size_t>(n);
    }
    co_return 0;
}

}  // namespace

Task<int> open_file(std::string path, int flags, mode_t mode) {
    co_return co_await openat_op(path.c_str(), flags | O_CLOEXEC, mode);
}

Task<int> rename_file(std::string from, std::string to) {
    co_return co_await renameat_op(from.c_str(), to.c_str());
}

Task<int> unlink_file(std::string path) {
    co_return co_await unlinkat_op(path.c_str());
}

Task<int> close_file(int fd) {
    co_return co_await reactor::close(fd);
}

Task<Result<std::string>> read_file_async(std::string path, std::size_t size_bytes_max) {
    int fd = co_await open_file(path, O_RDONLY);
    if (fd < 0) {
        co_return Error::from_errno(-fd, "open " + path);
    }
    std::string content;
    char buf[16384];
    int res = 0;
    for (;;) {
        res = co_await reactor::read(fd, buf, sizeof buf, content.size());
        if (res == -EINTR || res == -EAGAIN) {
            continue;
        }
        if (res <= 0) {
            break;
        }
        if (content.size() + static_cast<std::size_t>(res) > size_bytes_max) {
            res = -EFBIG;
            break;
        }
        content.append(buf, static_cast<std::size_t>(res));
    }
    co_await close_file(fd);
    if (res == -EFBIG) {
        co_return Error(Errc::too_large,
                        path + ": larger than " + std::to_string(size_bytes_max) + " bytes");
    }
    if (res < 0) {
        co_return Error::from_errno(-res, "read " + path);
    }
    co_return content;
}

Task<Status> replace_file_async(std::string path, std::string content) {
    std::string tmp = path + ".tmp";
    int fd = co_await open_file(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) {
        co_return Error::from_errno(-fd, "open " + tmp);
    }
    int res = co_await write_all(fd, content.data(), content.size());
    co_await close_file(fd);
    if (res < 0) {
        co_await unlink_file(tmp);
        co_return Error::from_errno(-res, "write " + tmp);
    }
    res = co_await rename_file(tmp, path);
    if (res < 0) {
        co_return Error::from_errno(-res, "rename " + tmp);
    }
    co_return Ok{};
}

}  // namespace pylon::engine
