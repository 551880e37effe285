// Logging: one process-wide logger with levels, writing whole lines to stderr or to a
// size-bounded file that rotates (name, name.1, ... name.N). Safe from any thread (a mutex
// guards the sink; logging is never on a per-message hot path). Each line carries a UTC
// timestamp, the level, the shard ("s0", or "--" off-shard) and the message.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::reactor {

enum class LogLevel : unsigned char { trace, debug, info, warn, error };

std::string_view log_level_name(LogLevel level) noexcept;
// "trace" | "debug" | "info" | "warn" | "error" (case-insensitive); false if unknown.
bool parse_log_level(std::string_view text, LogLevel& out) noexcept;

struct LogFileOptions {
    std::string path;
    std::uint64_t file_bytes_max = 10 * 1024 * 1024;
    unsigned files_kept = 3;  // rotated files besides the live one
};

class Log {
  public:
    static void set_level(LogLevel level) noexcept;
    static LogLevel level() noexcept;
    static bool enabled(LogLevel level) noexcept { return level >= Log::level(); }

    // Send lines to a rotating file instead of stderr (daemon mode). Creates the file (0600).
    static Status to_file(const LogFileOptions& options);
    static void to_stderr();

    // The shard tag written on lines from this thread (set by the shard loop).
    static void set_thread_tag(std::string_view tag);

    static void write(LogLevel level, std::string_view message);
    static void flush();
};

// printf-style helpers; the format is checked by the compiler.
void log_printf(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

// Appends `text` safe for one line of a log or a terminal: C0 controls and DEL as \n, \r, \t or
// \xNN, the C1 controls U+0080..U+009F (which terminals may take as escape sequences) as \u00NN,
// a byte that is not part of valid UTF-8 as \xNN; other UTF-8 as it is. Every log line goes
// through it; the CLI uses it for peers' text it prints (model names, relay errors).
void append_terminal_safe(std::string& out, std::string_view text);

}  // namespace pylon::reactor

#define PYLON_LOG(level, ...)                                 \
    do {                                                      \
        if (::pylon::reactor::Log::enabled(level)) {          \
            ::pylon::reactor::log_printf(level, __VA_ARGS__); \
        }                                                     \
    } while (0)
#define LOG_TRACE(...) PYLON_LOG(::pylon::reactor::LogLevel::trace, __VA_ARGS__)
#define LOG_DEBUG(...) PYLON_LOG(::pylon::reactor::LogLevel::debug, __VA_ARGS__)
#define LOG_INFO(...) PYLON_LOG(::pylon::reactor::LogLevel::info, __VA_ARGS__)
#define LOG_WARN(...) PYLON_LOG(::pylon::reactor::LogLevel::warn, __VA_ARGS__)
#define LOG_ERROR(...) PYLON_LOG(::pylon::reactor::LogLevel::error, __VA_ARGS__)
