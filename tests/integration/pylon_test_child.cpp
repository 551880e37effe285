// pylon_test_child: a small, well-behaved (or deliberately badly behaved) child process for the
// supervisor and memory-monitor tests. Each option is one behaviour; they combine, and run in
// the order listed:
//   --ignore-term          ignore SIGTERM (only SIGKILL ends it)
//   --hog-bytes N          allocate N bytes and touch every page (a memory hog)
//   --grandchild           fork a grandchild that sleeps forever (same session and group)
//   --setsid-grandchild    fork a grandchild that calls setsid() (a session and group of its
//                          own, as a daemonising tool does) and sleeps forever; print
//                          "SETSID <pid>" once it has
//                          and print "GRANDCHILD <pid>"
//   --detached-ms N        as `sh -c "tool &"`: fork a child that forks a grandchild and exits
//                          at once (reaped here); the grandchild, reparented to the subreaper,
//                          exits after N ms; prints "DETACHED <pid>"
//   --stdout-bytes N       write N bytes of numbered text lines to stdout as fast as possible
//   --done-file PATH       then create PATH (proof that the writes above did not stall)
//   --ready-after-ms N     then sleep N ms and print "READY" on stdout
//   --exit-after-ms N      then sleep N ms and exit with --exit-code (default 0)
//   --stamp-file PATH      right before that exit, write CLOCK_MONOTONIC in ns to PATH
// Without --exit-after-ms it sleeps until killed. Prints "PID <pid>" first.
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

namespace {

struct Options {
    bool ignore_term = false;
    std::uint64_t hog_bytes = 0;
    bool grandchild = false;
    bool setsid_grandchild = false;
    long detached_ms = -1;
    std::uint64_t stdout_bytes = 0;
    std::string done_file;
    long ready_after_ms = -1;
    long exit_after_ms = -1;
    int exit_code = 0;
    std::string stamp_file;
};

void sleep_ms(long ms) {
    timespec ts{ms / 1000, (ms % 1000) * 1000000L};
    while (::nanosleep(&ts, &ts) != 0) {
    }
}

bool parse(int argc, char** argv, Options& o) {
    for (int i = 1; i < argc; i++) {
        std::string_view a = argv[i];
        const char* v = i + 1 < argc ? argv[i + 1] : nullptr;
        if (a == "--ignore-term") {
            o.ignore_term = true;
        } else if (a == "--grandchild") {
            o.grandchild = true;
        } else if (a == "--setsid-grandchild") {
            o.setsid_grandchild = true;
        } else if (v == nullptr) {
            return false;
        } else if (a == "--detached-ms") {
            o.detached_ms = std::atol(v);
            i++;
        } else if (a == "--hog-bytes") {
            o.hog_bytes = std::strtoull(v, nullptr, 10);
            i++;
        } else if (a == "--stdout-bytes") {
            o.stdout_bytes = std::strtoull(v, nullptr, 10);
            i++;
        } else if (a == "--done-file") {
            o.done_file = v;
            i++;
        } else if (a == "--ready-after-ms") {
            o.ready_after_ms = std::atol(v);
            i++;
        } else if (a == "--exit-after-ms") {
            o.exit_after_ms = std::atol(v);
            i++;
        } else if (a == "--exit-code") {
            o.exit_code = std::atoi(v);
            i++;
        } else if (a == "--stamp-file") {
            o.stamp_file = v;
            i++;
        } else {
            return false;
        }
    }
    return true;
}

void write_all(int fd, const char* data, std::size_t size) {
    while (size > 0) {
        ssize_t n = ::write(fd, data, size);
        if (n <= 0) {
            return;
        }
        data += n;
        size -= static_cast<std::size_t>(n);
    }
}

void chatter(std::uint64_t bytes) {
    char line[128];
    std::string block;
    std::uint64_t written = 0;
    std::uint64_t n = 0;
    while (written < bytes) {
        block.clear();
        while (block.size() < 60000) {
            int len = std::snprintf(line, sizeof line, "line %012llu: the quick brown fox\n",
                                    static_cast<unsigned long long>(n++));
            block.append(line, static_cast<std::size_t>(len));
        }
        std::size_t take =
            static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), bytes - written));
        write_all(1, block.data(), take);
        written += take;
    }
}

void touch_file(const std::string& path, const std::string& content) {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) {
        write_all(fd, content.data(), content.size());
        ::close(fd);
    }
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    if (!parse(argc, argv, o)) {
        std::fprintf(stderr, "pylon_test_child: bad arguments\n");
        return 2;
    }
    std::printf("PID %d\n", static_cast<int>(::getpid()));
    std::fflush(stdout);
    if (o.ignore_term) {
        ::signal(SIGTERM, SIG_IGN);
    }
    if (o.hog_bytes > 0) {
        void* p = ::mmap(nullptr, o.hog_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                         -1, 0);
        if (p == MAP_FAILED) {
            return 3;
        }
        std::memset(p, 0x5a, o.hog_bytes);  // touch every page: RSS, not just address space
        std::printf("HOG %llu\n", static_cast<unsigned long long>(o.hog_bytes));
        std::fflush(stdout);
    }
    if (o.grandchild) {
        pid_t pid = ::fork();
        if (pid == 0) {
            for (;;) {
                ::pause();
            }
        }
        std::printf("GRANDCHILD %d\n", static_cast<int>(pid));
        std::fflush(stdout);
    }
    if (o.setsid_grandchild) {
        int link[2];
        if (::pipe(link) != 0) {
            return 3;
        }
        pid_t pid = ::fork();
        if (pid == 0) {
            ::close(link[0]);
            ::setsid();  // a fork is never a group leader: this cannot fail
            char ok = 1;
            (void)::write(link[1], &ok, 1);
            ::close(link[1]);
            for (;;) {
                ::pause();
            }
        }
        ::close(link[1]);
        char ok = 0;
        (void)::read(link[0], &ok, 1);  // its setsid() is done
        ::close(link[0]);
        std::printf("SETSID %d\n", static_cast<int>(pid));
        std::fflush(stdout);
    }
    if (o.detached_ms >= 0) {
        int link[2];
        if (::pipe(link) != 0) {
            return 3;
        }
        pid_t middle = ::fork();
        if (middle == 0) {
            pid_t detached = ::fork();
            if (detached == 0) {
                sleep_ms(o.detached_ms);
                ::_exit(0);
            }
            write_all(link[1], reinterpret_cast<const char*>(&detached), sizeof detached);
            ::_exit(0);
        }
        pid_t detached = 0;
        (void)::read(link[0], &detached, sizeof detached);
        ::waitpid(middle, nullptr, 0);
        std::printf("DETACHED %d\n", static_cast<int>(detached));
        std::fflush(stdout);
    }
    if (o.stdout_bytes > 0) {
        chatter(o.stdout_bytes);
    }
    if (!o.done_file.empty()) {
        touch_file(o.done_file, "done\n");
    }
    if (o.ready_after_ms >= 0) {
        sleep_ms(o.ready_after_ms);
        std::printf("READY\n");
        std::fflush(stdout);
    }
    if (o.exit_after_ms >= 0) {
        sleep_ms(o.exit_after_ms);
        if (!o.stamp_file.empty()) {
            timespec ts{};
            ::clock_gettime(CLOCK_MONOTONIC, &ts);
            long long ns = static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
            touch_file(o.stamp_file, std::to_string(ns));
        }
        ::_exit(o.exit_code);
    }
    for (;;) {
        ::pause();
    }
}
