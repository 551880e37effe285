#include "engine/child_log.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "engine/file_ops.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {
namespace {

using reactor::Task;

constexpr std::size_t chunk_coalesce_bytes = 64 * 1024;  // queued chunks grow up to this
constexpr std::size_t write_batch_chunks_max = 16;       // iovecs per writev

std::string rotated_name(const std::string& path, unsigned index) {
    return path + "." + std::to_string(index);
}

}  // namespace

bool LineWatch::feed(std::string_view data) {
    while (!matched_ && !data.empty()) {
        std::size_t nl = data.find('\n');
        std::string_view piece = data.substr(0, nl);
        std::size_t room = line_bytes_max - std::min(partial_.size(), line_bytes_max);
        if (piece.size() > room) {
            partial_truncated_ = true;
        }
        partial_.append(piece.substr(0, std::min(piece.size(), room)));
        if (nl == std::string_view::npos) {
            break;
        }
        if (partial_.find(needle_) != std::string::npos) {
            matched_ = true;
        }
        partial_.clear();
        partial_truncated_ = false;
        data.remove_prefix(nl + 1);
    }
    return matched_;
}

ChildLog::ChildLog(ChildLogOptions options) : options_(std::move(options)) {
    PYLON_ASSERT(options_.file_bytes_max > 0 && options_.read_chunk_bytes > 0);
}

ChildLog::~ChildLog() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Task<Status> ChildLog::open() {
    PYLON_ASSERT(fd_ < 0);
    int fd = co_await open_file(options_.path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd < 0) {
        co_return Error::from_errno(-fd, "open " + options_.path);
    }
    fd_ = fd;
    off_t end = ::lseek(fd_, 0, SEEK_END);  // a metadata read, no disk wait
    file_bytes_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
    co_return Ok{};
}

void ChildLog::start_drain(int fd, std::string ready_needle, MatchFn on_match, void* context,
                           std::uint64_t tag, reactor::CancelToken token) {
    PYLON_ASSERT(fd >= 0);
    drains_++;
    if (!gate_.spawn(drain(this, fd, std::move(ready_needle), on_match, context, tag, token))) {
        drains_--;
        ::close(fd);
    }
}

Task<void> ChildLog::drain(ChildLog* log, int fd, std::string ready_needle, MatchFn on_match,
                           void* context, std::uint64_t tag, reactor::CancelToken token) {
    std::unique_ptr<char[]> buf(new char[log->options_.read_chunk_bytes]);
    LineWatch watch(std::move(ready_needle));
    bool watching = !watch.empty();
    for (;;) {
        int n = co_await reactor::read(fd, buf.get(), log->options_.read_chunk_bytes,
                                       static_cast<std::uint64_t>(-1), {.token = token});
        if (n == -EINTR || n == -EAGAIN) {
            continue;
        }
        if (n <= 0) {
            break;
        }
        std::string_view data(buf.get(), static_cast<std::size_t>(n));
        log->counters_.bytes_read += data.size();
        if (watching && watch.feed(data)) {
            watching = false;
            if (on_match != nullptr) {
                on_match(context, tag);
            }
        }
        log->enqueue(data);
    }
    ::close(fd);
    log->drains_--;
}

void ChildLog::note(std::string_view line) {
    std::string text = "[pylon] ";
    text.append(line);
    text.push_back('\n');
    enqueue(text);
}

void ChildLog::enqueue(std::string_view data) {
    if (pending_bytes_ + data.size() > options_.pending_bytes_max) {
        counters_.bytes_dropped += data.size();
        dropped_unreported_ += data.size();
        return;
    }
    std::size_t coalesce = std::min<std::size_t>(chunk_coalesce_bytes,
                                                 static_cast<std::size_t>(options_.file_bytes_max));
    while (!data.empty()) {
        if (pending_.empty() || pending_.back().size() >= coalesce) {
            pending_.emplace_back();
            pending_.back().reserve(coalesce);
        }
        std::string& tail = pending_.back();
        std::size_t take = std::min(data.size(), coalesce - tail.size());
        tail.append(data.substr(0, take));
        pending_bytes_ += take;
        data.remove_prefix(take);
    }
    if (!writer_active_ && fd_ >= 0) {
        writer_active_ = true;
        if (!gate_.spawn(write_loop(this))) {
            writer_active_ = false;
        }
    }
}

Task<void> ChildLog::write_loop(ChildLog* log) {
    std::vector<std::string> batch;
    std::vector<iovec> iov;
    while (!log->pending_.empty() && log->fd_ >= 0) {
        if (log->dropped_unreported_ > 0) {
            log->pending_.push_front("[pylon] dropped " + std::to_string(log->dropped_unreported_) +
                                     " bytes of output (the log writer fell behind)\n");
            log->pending_bytes_ += log->pending_.front().size();
            log->dropped_unreported_ = 0;
        }
        batch.clear();
        iov.clear();
        std::uint64_t total = 0;
        while (!log->pending_.empty() && batch.size() < write_batch_chunks_max &&
               (batch.empty() ||
                total + log->pending_.front().size() <= log->options_.file_bytes_max)) {
            total += log->pending_.front().size();
            log->pending_bytes_ -= log->pending_.front().size();
            batch.push_back(std::move(log->pending_.front()));
            log->pending_.pop_front();
        }
        if (log->file_bytes_ > 0 && log->file_bytes_ + total > log->options_.file_bytes_max) {
            co_await log->rotate();
            if (log->fd_ < 0) {
                break;
            }
        }
        for (std::string& s : batch) {
            iov.push_back(iovec{s.data(), s.size()});
        }
        int n = co_await reactor::writev(log->fd_, iov.data(), static_cast<unsigned>(iov.size()));
        if (n < 0) {
            log->counters_.write_errors++;
            log->counters_.bytes_dropped += total;
            continue;
        }
        // Regular files write everything or fail; a short write only happens when the disk is
        // full, and the rest of the batch is then counted as dropped.
        log->file_bytes_ += static_cast<std::uint64_t>(n);
        log->counters_.bytes_written += static_cast<std::uint64_t>(n);
        log->counters_.bytes_dropped += total - static_cast<std::uint64_t>(n);
    }
    log->writer_active_ = false;
}

Task<void> ChildLog::rotate() {
    co_await close_file(fd_);
    fd_ = -1;
    const std::string& path = options_.path;
    if (options_.files_kept == 0) {
        co_await unlink_file(path);
    } else {
        for (unsigned k = options_.files_kept; k >= 2; k--) {
            co_await rename_file(rotated_name(path, k - 1), rotated_name(path, k));
        }
        co_await rename_file(path, rotated_name(path, 1));
    }
    int fd = co_await open_file(path, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
    if (fd < 0) {
        LOG_WARN("child log %s: reopen after rotation failed: %s", path.c_str(),
                 std::strerror(-fd));
        counters_.write_errors++;
        co_return;
    }
    fd_ = fd;
    file_bytes_ = 0;
    counters_.rotations++;
}

Task<void> ChildLog::close() {
    co_await gate_.close();
    if (fd_ >= 0) {
        co_await close_file(fd_);
        fd_ = -1;
    }
}

}  // namespace pylon::engine
