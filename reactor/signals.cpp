#include "reactor/signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <utility>

#include "reactor/ops.hpp"

namespace pylon::reactor {
namespace {

sigset_t handled_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGUSR1);
    return set;
}

}  // namespace

void block_handled_signals() {
    sigset_t set = handled_set();
    ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
    struct sigaction ign {};
    ign.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ign, nullptr);
}

void reset_signals_for_exec() {
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) {
            ::sigaction(sig, &dfl, nullptr);
        }
    }
    sigset_t empty;
    sigemptyset(&empty);
    ::sigprocmask(SIG_SETMASK, &empty, nullptr);
}

Result<SignalReader> SignalReader::open() {
    sigset_t set = handled_set();
    int fd = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno, "signalfd");
    }
    return SignalReader(fd);
}

SignalReader::SignalReader(SignalReader&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

SignalReader::~SignalReader() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Task<int> SignalReader::next(CancelToken token) {
    signalfd_siginfo info{};
    for (;;) {
        int res = co_await reactor::read(fd_, &info, sizeof info, static_cast<std::uint64_t>(-1),
                                         {.token = token});
        if (res == static_cast<int>(sizeof info)) {
            co_return static_cast<int>(info.ssi_signo);
        }
        if (res == -EAGAIN || res == -EINTR) {
            continue;
        }
        co_return res < 0 ? res : -EIO;
    }
}

}  // namespace pylon::reactor
