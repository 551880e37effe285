#include "engine/intake_counters.hpp"

namespace pylon::engine {

std::string_view intake_reason_name(IntakeReason reason) noexcept {
    switch (reason) {
        case IntakeReason::received:
            return "received";
        case IntakeReason::accepted:
            return "accepted";
        case IntakeReason::rerun:
            return "rerun";
        case IntakeReason::malformed:
            return "malformed";
        case IntakeReason::wrong_kind:
            return "wrong_kind";
        case IntakeReason::stale:
            return "stale";
        case IntakeReason::future:
            return "future";
        case IntakeReason::not_for_us:
            return "not_for_us";
        case IntakeReason::duplicate:
            return "duplicate";
        case IntakeReason::bad_id:
            return "bad_id";
        case IntakeReason::bad_signature:
            return "bad_signature";
        case IntakeReason::undecryptable:
            return "undecryptable";
        case IntakeReason::rate_limited_pubkey:
            return "rate_limited_pubkey";
        case IntakeReason::closed:
            return "closed";
        case IntakeReason::unreadable:
            return "unreadable";
        case IntakeReason::refused_overloaded:
            return "refused_overloaded";
        case IntakeReason::refused_bad_param:
            return "refused_bad_param";
        case IntakeReason::refused_bad_bid:
            return "refused_bad_bid";
        case IntakeReason::refused_no_prompt:
            return "refused_no_prompt";
        case IntakeReason::refused_prompt_too_long:
            return "refused_prompt_too_long";
        case IntakeReason::refused_max_tokens:
            return "refused_max_tokens";
        case IntakeReason::refused_bid_below_price:
            return "refused_bid_below_price";
        case IntakeReason::refused_unknown_model:
            return "refused_unknown_model";
        case IntakeReason::refused_no_backend:
            return "refused_no_backend";
        case IntakeReason::refused_queue_full:
            return "refused_queue_full";
        case IntakeReason::refused_busy:
            return "refused_busy";
        case IntakeReason::feedback_suppressed:
            return "feedback_suppressed";
        case IntakeReason::store_retried:
            return "store_retried";
        case IntakeReason::store_failed:
            return "store_failed";
        case IntakeReason::paused:
            return "paused";
        case IntakeReason::resumed:
            return "resumed";
        case IntakeReason::deferred:
            return "deferred";
        case IntakeReason::held:
            return "held";
        case IntakeReason::deletions:
            return "deletions";
        case IntakeReason::cancellations:
            return "cancellations";
        case IntakeReason::count_:
            break;
    }
    return "unknown";
}

}  // namespace pylon::engine
