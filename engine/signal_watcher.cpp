#include "engine/signal_watcher.hpp"

#include <cerrno>
#include <cstring>

#include "reactor/log.hpp"

namespace pylon::engine {

reactor::Task<Status> SignalWatcher::start() {
    auto reader = reactor::SignalReader::open();
    if (!reader.ok()) {
        co_return std::move(reader).error();
    }
    reader_.emplace(std::move(reader.value()));
    gate_.spawn(run(this));
    co_return Ok{};
}

reactor::Task<void> SignalWatcher::stop() {
    cancel_.cancel();
    co_await gate_.close();
}

reactor::Task<void> SignalWatcher::run(SignalWatcher* self) {
    for (;;) {
        int sig = co_await self->reader_->next(self->cancel_.token());
        if (sig == -ECANCELED) {
            co_return;
        }
        if (sig < 0) {
            LOG_ERROR("reading signals failed: %s", std::strerror(-sig));
            co_return;
        }
        if (sig == SIGINT || sig == SIGTERM || sig == SIGQUIT) {
            self->context_.request_stop(sigabbrev_np(sig));
        } else if (sig == SIGHUP) {
            LOG_INFO("SIGHUP: reloading the configuration");
            auto report = co_await self->context_.reload_from_file();
            if (!report.ok()) {
                LOG_ERROR("reload failed (nothing changed): %s", report.error().message().c_str());
            }
        } else {
            LOG_INFO("signal %s ignored", sigabbrev_np(sig));
        }
    }
}

}  // namespace pylon::engine
