#include "reactor/log.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdarg>
#include <cstring>
#include <ctime>
#include <mutex>

namespace pylon::reactor {
namespace {

struct Sink {
    std::mutex mutex;
    int fd = STDERR_FILENO;
    LogFileOptions file;
    bool to_file = false;
    std::uint64_t file_bytes = 0;
};

Sink& sink() {
    static Sink* s = new Sink();  // never destroyed: logging works during static destruction
    return *s;
}

std::atomic<LogLevel> g_level{LogLevel::info};
thread_local char t_tag[8] = "--";

int open_log_file(const std::string& path) {
    return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
}

// Called with the sink locked: shift name.(N-1) -> name.N ... name -> name.1, reopen.
void rotate_locked(Sink& s) {
    for (unsigned i = s.file.files_kept; i >= 1; i--) {
        std::string from = i == 1 ? s.file.path : s.file.path + "." + std::to_string(i - 1);
        std::string to = s.file.path + "." + std::to_string(i);
        ::rename(from.c_str(), to.c_str());
    }
    if (s.file.files_kept == 0) {
        ::unlink(s.file.path.c_str());
    }
    int fd = open_log_file(s.file.path);
    if (fd >= 0) {
        ::close(s.fd);
        s.fd = fd;
    }
    s.file_bytes = 0;
}

void write_all(int fd, const char* data, std::size_t len) {
    while (len > 0) {
        ssize_t n = ::write(fd, data, len);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return;
        }
        data += n;
        len -= static_cast<std::size_t>(n);
    }
}

}  // namespace

std::string_view log_level_name(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::trace:
            return "TRACE";
        case LogLevel::debug:
            return "DEBUG";
        case LogLevel::info:
            return "INFO";
        case LogLevel::warn:
            return "WARN";
        case LogLevel::error:
            return "ERROR";
    }
    return "?";
}

bool parse_log_level(std::string_view text, LogLevel& out) noexcept {
    static constexpr std::pair<std::string_view, LogLevel> names[] = {
        {"trace", LogLevel::trace}, {"debug", LogLevel::debug},  {"info", LogLevel::info},
        {"warn", LogLevel::warn},   {"warning", LogLevel::warn}, {"error", LogLevel::error}};
    for (const auto& [name, level] : names) {
        if (text.size() == name.size() &&
            ::strncasecmp(text.data(), name.data(), name.size()) == 0) {
            out = level;
            return true;
        }
    }
    return false;
}

void Log::set_level(LogLevel level) noexcept {
    g_level.store(level, std::memory_order_relaxed);
}
LogLevel Log::level() noexcept {
    return g_level.load(std::memory_order_relaxed);
}

Status Log::to_file(const LogFileOptions& options) {
    int fd = open_log_file(options.path);
    if (fd < 0) {
        return Error::from_errno(errno, "open log file " + options.path);
    }
    struct stat st {};
    ::fstat(fd, &st);
    Sink& s = sink();
    std::lock_guard lock(s.mutex);
    if (s.to_file) {
        ::close(s.fd);
    }
    s.fd = fd;
    s.file = options;
    s.to_file = true;
    s.file_bytes = static_cast<std::uint64_t>(st.st_size);
    return Ok{};
}

void Log::to_stderr() {
    Sink& s = sink();
    std::lock_guard lock(s.mutex);
    if (s.to_file) {
        ::close(s.fd);
    }
    s.fd = STDERR_FILENO;
    s.to_file = false;
}

void Log::set_thread_tag(std::string_view tag) {
    std::size_t n = std::min(tag.size(), sizeof(t_tag) - 1);
    std::memcpy(t_tag, tag.data(), n);
    t_tag[n] = '\0';
}

void Log::write(LogLevel level, std::string_view message) {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    tm utc{};
    ::gmtime_r(&ts.tv_sec, &utc);
    char head[64];
    int head_len =
        std::snprintf(head, sizeof head, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s [%s] ",
                      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                      utc.tm_sec, ts.tv_nsec / 1'000'000, log_level_name(level).data(), t_tag);
    std::string line;
    line.reserve(static_cast<std::size_t>(head_len) + message.size() + 1);
    line.append(head, static_cast<std::size_t>(head_len));
    // Messages carry peers' text (a relay's NOTICE, a backend's error, a model name): a line
    // break in it would forge a log line, an escape sequence would reach the operator's
    // terminal through `pylon logs`. One message is always one line.
    append_terminal_safe(line, message);
    line.push_back('\n');

    Sink& s = sink();
    std::lock_guard lock(s.mutex);
    if (s.to_file && s.file_bytes + line.size() > s.file.file_bytes_max) {
        rotate_locked(s);
    }
    write_all(s.fd, line.data(), line.size());
    s.file_bytes += line.size();
}

void Log::flush() {
    Sink& s = sink();
    std::lock_guard lock(s.mutex);
    if (s.to_file) {
        ::fdatasync(s.fd);
    }
}

void log_printf(LogLevel level, const char* fmt, ...) {
    char buf[1024];
    va_list args;
    va_start(args, fmt);
    int n = std::vsnprintf(buf, sizeof buf, fmt, args);
    va_end(args);
    if (n < 0) {
        return;
    }
    std::size_t len = std::min(static_cast<std::size_t>(n), sizeof buf - 1);
    Log::write(level, std::string_view(buf, len));
}

namespace {

void append_hex_escape(std::string& out, const char* prefix, unsigned char c) {
    static constexpr char hex[] = "0123456789abcdef";
    out.append(prefix);
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 0xf]);
}

// The length of the valid UTF-8 sequence at text[i] (2 to 4), or 0 when there is none.
std::size_t utf8_sequence_at(std::string_view text, std::size_t i) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = c >= 0xc2 && c <= 0xdf   ? 2
                      : c >= 0xe0 && c <= 0xef ? 3
                      : c >= 0xf0 && c <= 0xf4 ? 4
                                               : 0;
    if (len == 0 || i + len > text.size()) {
        return 0;
    }
    auto b1 = static_cast<unsigned char>(text[i + 1]);
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
    unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
    if (b1 < lo || b1 > hi) {
        return 0;
    }
    for (std::size_t k = 2; k < len; k++) {
        if ((static_cast<unsigned char>(text[i + k]) & 0xc0) != 0x80) {
            return 0;
        }
    }
    return len;
}

}  // namespace

void append_terminal_safe(std::string& out, std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out.push_back(static_cast<char>(c));
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out.append(c == '\n' ? "\\n" : c == '\r' ? "\\r" : "\\t");
            i++;
        } else if (c < 0x80) {
            append_hex_escape(out, "\\x", c);  // the other C0 controls and DEL
            i++;
        } else if (std::size_t len = utf8_sequence_at(text, i); len == 0) {
            append_hex_escape(out, "\\x", c);  // not UTF-8
            i++;
        } else if (c == 0xc2 && static_cast<unsigned char>(text[i + 1]) < 0xa0) {
            append_hex_escape(out, "\\u00", static_cast<unsigned char>(text[i + 1]));  // C1
            i += 2;
        } else {
            out.append(text.substr(i, len));
            i += len;
        }
    }
}

}  // namespace pylon::reactor
