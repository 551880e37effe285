#include "engine/parent_watcher.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include "reactor/log.hpp"
#include "reactor/ops.hpp"

namespace pylon::engine {

reactor::Task<Status> ParentWatcher::start() {
    struct stat st {};
    if (::fstat(0, &st) != 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode))) {
        LOG_INFO("managed: stdin is not a pipe; only the parent's death (SIGTERM) stops the node");
        co_return Ok{};
    }
    gate_.spawn(run(this));
    co_return Ok{};
}

reactor::Task<void> ParentWatcher::stop() {
    cancel_.cancel();
    co_await gate_.close();
}

reactor::Task<void> ParentWatcher::run(ParentWatcher* self) {
    char buf[512];
    for (;;) {
        int n = co_await reactor::read(0, buf, sizeof buf, static_cast<std::uint64_t>(-1),
                                       {.timeout_ms = 0, .token = self->cancel_.token()});
        if (n == -ECANCELED) {
            co_return;
        }
        if (n > 0) {
            continue;
        }
        if (n == 0) {
            self->context_.request_stop("the parent closed stdin");
        } else {
            LOG_WARN("managed: reading stdin failed (%s); stopping", std::strerror(-n));
            self->context_.request_stop("stdin failed");
        }
        co_return;
    }
}

}  // namespace pylon::engine
