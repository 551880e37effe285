#include "tools/fake_http/fake_runner.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <string>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {
namespace {

std::atomic<int> requested_exit_code{-1};  // set once by request_exit()

}  // namespace

CommandLine parse_command_line(std::string_view tool_name, std::string_view usage, int argc,
                               char** argv, FakeConfig* cfg, const ExtraOption& extra) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::printf("%.*s\n%s", static_cast<int>(usage.size()), usage.data(),
                        common_options_help().c_str());
            return CommandLine::exit_ok;
        }
        std::string error;
        OptionParse parsed = parse_common_option(argc, argv, &i, cfg, &error);
        if (parsed == OptionParse::consumed ||
            (parsed == OptionParse::unknown && extra(argc, argv, &i))) {
            continue;
        }
        if (error.empty()) {
            error = "bad option or value: " + std::string(arg);
        }
        std::fprintf(stderr, "%.*s: %s (see --help)\n", static_cast<int>(tool_name.size()),
                     tool_name.data(), error.c_str());
        return CommandLine::exit_usage;
    }
    return CommandLine::run;
}

int run_fake_server(std::string_view tool_name, const FakeConfig& cfg, Handler handler) {
    sigset_t stop_signals;
    ::sigemptyset(&stop_signals);
    ::sigaddset(&stop_signals, SIGTERM);
    ::sigaddset(&stop_signals, SIGINT);
    ::sigaddset(&stop_signals, SIGUSR1);  // request_exit() wakes the main loop with it
    FAKE_ASSERT(::pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr) == 0);
    ::signal(SIGPIPE, SIG_IGN);

    // Room for every slot's stream, plus the idle keep-alive connections of a client with
    // several pools (one per shard), connections the client already closed and a connection
    // thread has not yet noticed, probes and waiting requests.
    ServerLimits limits;
    // (64 up to 16 slots, as the fake always had; 4 per slot beyond.)
    limits.connections_max =
        std::max<std::size_t>(limits.connections_max, 4 * static_cast<std::size_t>(cfg.slots));
    HttpServer server(limits);
    std::string error;
    if (!server.listen(cfg.port, &error)) {
        std::fprintf(stderr, "%.*s: cannot listen: %s\n", static_cast<int>(tool_name.size()),
                     tool_name.data(), error.c_str());
        return 1;
    }
    server.start(std::move(handler));
    std::printf("READY port=%u\n", static_cast<unsigned>(server.port()));
    std::fflush(stdout);

    timespec limit{};
    limit.tv_sec = cfg.max_runtime_s;
    for (;;) {
        int sig = cfg.max_runtime_s > 0 ? ::sigtimedwait(&stop_signals, nullptr, &limit)
                                        : ::sigwaitinfo(&stop_signals, nullptr);
        if (sig < 0 && errno == EINTR) {
            continue;  // the timeout restarts in full: acceptable for a bound this coarse
        }
        const char* why = sig < 0          ? "max runtime reached"
                          : sig == SIGTERM ? "SIGTERM"
                          : sig == SIGINT  ? "SIGINT"
                                           : "exit requested";
        std::fprintf(stderr, "%.*s: stopping (%s)\n", static_cast<int>(tool_name.size()),
                     tool_name.data(), why);
        break;
    }
    server.stop();
    int code = requested_exit_code.load();
    return code >= 0 ? code : 0;
}

void request_exit(int code) {
    FAKE_ASSERT(code >= 0 && code <= 255);
    int none = -1;
    if (requested_exit_code.compare_exchange_strong(none, code)) {
        ::kill(::getpid(), SIGUSR1);
    }
}

void crash_now() {
    std::fflush(stdout);
    std::fflush(stderr);
    rlimit no_core{0, 0};
    ::setrlimit(RLIMIT_CORE, &no_core);
    ::signal(SIGSEGV, SIG_DFL);
    sigset_t segv;
    ::sigemptyset(&segv);
    ::sigaddset(&segv, SIGSEGV);
    ::pthread_sigmask(SIG_UNBLOCK, &segv, nullptr);
    ::raise(SIGSEGV);
    ::_exit(139);  // not reached
}

}  // namespace pylon::fake
