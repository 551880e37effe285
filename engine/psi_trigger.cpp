#include "engine/psi_trigger.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <utility>

namespace pylon::engine {

Result<PsiTrigger> PsiTrigger::open(const std::string& path, const std::string& trigger) {
    int fd = ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        return Error::from_errno(errno, "open " + path);
    }
    PsiTrigger t(fd);
    if (!trigger.empty()) {
        // The kernel wants the trigger text with its terminating NUL.
        ssize_t n = ::write(fd, trigger.c_str(), trigger.size() + 1);
        if (n < 0) {
            return Error::from_errno(errno, "PSI trigger \"" + trigger + "\" on " + path);
        }
    }
    if (!t.armed()) {
        return Error(Errc::unsupported, path + ": no trigger armed (polls POLLERR)");
    }
    return t;
}

PsiTrigger::PsiTrigger(PsiTrigger&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

PsiTrigger& PsiTrigger::operator=(PsiTrigger&& other) noexcept {
    if (this != &other) {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
}

PsiTrigger::~PsiTrigger() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

bool PsiTrigger::armed() const {
    pollfd p{fd_, POLLPRI, 0};
    int n = ::poll(&p, 1, 0);
    return n >= 0 && (n == 0 || (p.revents & POLLERR) == 0);
}

}  // namespace pylon::engine
