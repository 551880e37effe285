#include "net/deadline.hpp"

#include <algorithm>

#include "reactor/clock.hpp"
#include "reactor/shard.hpp"

namespace pylon::net {

using reactor::CancelRegistration;
using reactor::Shard;
using reactor::TimerNode;

Deadline::Deadline(std::int64_t timeout_ms, reactor::CancelToken parent)
    : timer_(&Deadline::on_timer, this), parent_reg_(&Deadline::on_parent, this) {
    if (!parent.add(&parent_reg_)) {
        source_.cancel();  // the parent already fired
        return;
    }
    if (timeout_ms > 0) {
        deadline_ms_ = reactor::monotonic_ms() + timeout_ms;
        Shard::current().timers().arm(&timer_, deadline_ms_);
    }
}

Deadline::~Deadline() {
    if (timer_.armed()) {
        Shard::current().timers().cancel(&timer_);
    }
    reactor::CancelToken::remove(&parent_reg_);
}

std::int64_t Deadline::remaining_ms() const noexcept {
    if (deadline_ms_ == 0) {
        return 0;
    }
    return std::max<std::int64_t>(1, deadline_ms_ - reactor::monotonic_ms());
}

void Deadline::on_timer(TimerNode* node) {
    auto* self = static_cast<Deadline*>(node->context);
    self->expired_ = true;
    self->source_.cancel();
}

void Deadline::on_parent(CancelRegistration* reg) {
    auto* self = static_cast<Deadline*>(reg->context);
    if (self->timer_.armed()) {
        Shard::current().timers().cancel(&self->timer_);
    }
    self->source_.cancel();
}

}  // namespace pylon::net
