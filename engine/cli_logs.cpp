// `pylon logs [-f] [-n N]`: the last N lines of logs/pylon.log (the background daemon's log), and
// with -f every line written after them, following rotations (a new file at the name, or a
// shorter one, is read from its start). Runs until interrupted.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <string>

#include "engine/cli_commands.hpp"

namespace pylon::engine {
namespace {

constexpr std::size_t tail_bytes_max = 1024 * 1024;
constexpr long follow_poll_ms = 200;

// The last `lines` lines of what fd holds (reading at most tail_bytes_max from the end); leaves
// the offset at the end of the file.
std::string tail(int fd, long long lines) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        return {};
    }
    auto size = static_cast<std::size_t>(st.st_size);
    std::size_t from = size > tail_bytes_max ? size - tail_bytes_max : 0;
    std::string text(size - from, '\0');
    ssize_t n = ::pread(fd, text.data(), text.size(), static_cast<off_t>(from));
    text.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
    ::lseek(fd, static_cast<off_t>(from + text.size()), SEEK_SET);
    std::size_t pos = text.size();
    if (pos > 0 && text[pos - 1] == '\n') {
        pos--;
    }
    for (long long i = 0; i < lines && pos > 0; i++) {
        std::size_t nl = text.rfind('\n', pos - 1);
        pos = nl == std::string::npos ? 0 : nl;
    }
    return text.substr(pos == 0 ? 0 : pos + 1);
}

void copy_new(int fd, std::FILE* out) {
    char buf[65536];
    ssize_t n = 0;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) {
        std::fwrite(buf, 1, static_cast<std::size_t>(n), out);
    }
    std::fflush(out);
}

[[noreturn]] void follow(const std::string& path, int fd, std::FILE* out) {
    for (;;) {
        timespec ts{0, follow_poll_ms * 1'000'000};
        ::nanosleep(&ts, nullptr);
        copy_new(fd, out);
        struct stat by_name {};
        struct stat open_one {};
        bool rotated =
            ::stat(path.c_str(), &by_name) == 0 && ::fstat(fd, &open_one) == 0 &&
            (by_name.st_ino != open_one.st_ino || by_name.st_size < ::lseek(fd, 0, SEEK_CUR));
        if (rotated) {
            int next = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (next >= 0) {
                copy_new(fd, out);
                ::close(fd);
                fd = next;
            }
        }
    }
}

}  // namespace

int cmd_logs(CliContext& ctx) {
    auto lines = ctx.args.integer("lines", 50, 0, 100000);
    if (!lines.ok()) {
        std::fprintf(ctx.err, "pylon logs: %s\n", lines.error().message().c_str());
        return exit_usage;
    }
    std::string path = ctx.home.logs_dir() + "/pylon.log";
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno != ENOENT) {
        return fail(ctx, Error::from_errno(errno, "read " + path).message());  // EACCES...
    }
    if (fd < 0) {
        std::fprintf(ctx.err,
                     "pylon: no log at %s (a daemon started in the background logs there; "
                     "in the foreground it logs to the terminal)\n",
                     path.c_str());
        return exit_failure;
    }
    std::fputs(tail(fd, lines.value()).c_str(), ctx.out);
    std::fflush(ctx.out);
    if (ctx.args.has("follow")) {
        follow(path, fd, ctx.out);
    }
    ::close(fd);
    return exit_ok;
}

}  // namespace pylon::engine
