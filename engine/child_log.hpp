// ChildLog: the log file of one supervised child (logs/<name>.log), fed by the child's stdout and
// stderr pipes. drain() reads a pipe through io_uring as fast as the child writes and hands the
// bytes to one writer coroutine that appends them to the file (writev) and rotates it at
// file_bytes_max (name -> name.1 -> ... -> name.<files_kept>, the oldest deleted), so the disk use
// is bounded by file_bytes_max x (files_kept + 1). Reading never waits for the disk: when more
// than pending_bytes_max are queued for the writer, new output is dropped and counted, and a
// marker line says so in the file. A chatty child therefore never blocks on a full pipe.
//
// A drain can watch its stream's lines (LineWatch) for a ready line. One ChildLog per child, kept
// across restarts (each restart's pipes are drained into the same file). Owned by the
// supervisor on shard 0; close() waits for every drain and write before destruction.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <utility>

#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::engine {

struct ChildLogOptions {
    std::string path;                                 // the live file
    std::uint64_t file_bytes_max = 10 * 1024 * 1024;  // rotate beyond this
    unsigned files_kept = 3;                          // rotated files besides the live one
    std::size_t pending_bytes_max = 1024 * 1024;      // queued for the writer; beyond: dropped
    std::size_t read_chunk_bytes = 32 * 1024;         // one pipe read
};

// Watches complete lines of a stream for a substring (the ready line). Lines longer than
// line_bytes_max are checked on their first line_bytes_max bytes.
class LineWatch {
  public:
    static constexpr std::size_t line_bytes_max = 4096;

    explicit LineWatch(std::string needle) : needle_(std::move(needle)) {}
    // Feeds output bytes; true once a line containing the needle has been seen.
    bool feed(std::string_view data);
    bool matched() const noexcept { return matched_; }
    bool empty() const noexcept { return needle_.empty(); }

  private:
    std::string needle_;
    std::string partial_;
    bool partial_truncated_ = false;
    bool matched_ = false;
};

struct ChildLogCounters {
    std::uint64_t bytes_read = 0;
    std::uint64_t bytes_written = 0;
    std::uint64_t bytes_dropped = 0;
    std::uint64_t rotations = 0;
    std::uint64_t write_errors = 0;
};

class ChildLog {
  public:
    explicit ChildLog(ChildLogOptions options);
    ChildLog(const ChildLog&) = delete;
    ChildLog& operator=(const ChildLog&) = delete;
    ~ChildLog();

    // Opens (creates, mode 0600) the live file for appending.
    reactor::Task<Status> open();
    const std::string& path() const noexcept { return options_.path; }
    const ChildLogCounters& counters() const noexcept { return counters_; }

    // Starts draining `fd` (a pipe's read end; closed at EOF) in the background. With a
    // non-empty `ready_needle`, complete lines are watched (LineWatch) and `on_match(context,
    // tag)` runs once, when a line first contains it; `context` must outlive the drain (close()
    // waits for it). The token stops the drain early.
    using MatchFn = void (*)(void* context, std::uint64_t tag);
    void start_drain(int fd, std::string ready_needle, MatchFn on_match, void* context,
                     std::uint64_t tag, reactor::CancelToken token);
    // Appends a line written by the supervisor itself ("[pylon] started pid 123").
    void note(std::string_view line);

    // Number of drains still reading.
    std::uint64_t drains_active() const noexcept { return drains_; }
    // Waits until every drain reached EOF (or its token) and every queued byte is written.
    reactor::Task<void> close();

  private:
    static reactor::Task<void> drain(ChildLog* log, int fd, std::string ready_needle,
                                     MatchFn on_match, void* context, std::uint64_t tag,
                                     reactor::CancelToken token);
    static reactor::Task<void> write_loop(ChildLog* log);
    void enqueue(std::string_view data);
    reactor::Task<void> rotate();

    ChildLogOptions options_;
    int fd_ = -1;
    std::uint64_t file_bytes_ = 0;
    std::deque<std::string> pending_;
    std::size_t pending_bytes_ = 0;
    std::uint64_t dropped_unreported_ = 0;
    bool writer_active_ = false;
    std::uint64_t drains_ = 0;
    ChildLogCounters counters_;
    reactor::Gate gate_;
};

}  // namespace pylon::engine
