#include "engine/response_builder.hpp"

#include "proto/client_message.hpp"
#include "reactor/log.hpp"

namespace pylon::engine {

std::string result_alt_text(std::uint32_t request_kind) {
    std::string text = "NIP-90 result of a kind " + std::to_string(request_kind) + " job";
    if (request_kind == 5050) {
        text += " (text generation)";
    }
    return text;
}

std::shared_ptr<Publication> ResponseBuilder::frame(const proto::Event& event,
                                                    std::int64_t now_ms) {
    auto pub = std::make_shared<Publication>();
    pub->id = event.id();
    pub->kind = event.kind();
    proto::write_client_event(pub->frame, event);
    pub->created_ms = now_ms;
    return pub;
}

std::shared_ptr<Publication> ResponseBuilder::finish(const Job& job, std::int64_t now_ms) {
    auto pub = std::make_shared<Publication>();
    pub->id = event_.id();
    pub->kind = event_.kind();
    proto::write_client_event(pub->frame, event_, canonical_);  // copies the escaped tags
    pub->job = job.request.id;
    pub->extra_relays = job.reply_relays;
    pub->customer = job.request.customer.bytes();
    pub->created_ms = now_ms;
    return pub;
}

std::shared_ptr<Publication> ResponseBuilder::feedback(const Job& job, proto::FeedbackStatus status,
                                                       std::string_view info,
                                                       std::string_view content, std::int64_t now_s,
                                                       std::int64_t now_ms) {
    proto::JobRef ref = proto::JobRef::of(job.request, job.relay_url);
    proto::FeedbackSpec spec;
    spec.status = status;
    spec.extra_info = info;
    spec.content = content;
    spec.canonical = &canonical_;
    proto::Reject r = proto::build_feedback(ref, spec, now_s, keys_, random_, event_);
    if (r != proto::Reject::none) {
        LOG_ERROR("job %s: %.*s feedback not built: %.*s", job.job_id.c_str(),
                  static_cast<int>(proto::feedback_status_text(status).size()),
                  proto::feedback_status_text(status).data(),
                  static_cast<int>(proto::reject_text(r).size()), proto::reject_text(r).data());
        return nullptr;
    }
    auto pub = finish(job, now_ms);
    bool progress =
        status == proto::FeedbackStatus::processing || status == proto::FeedbackStatus::partial;
    pub->cls = progress ? PublishClass::progress : PublishClass::terminal;
    return pub;
}

std::shared_ptr<Publication> ResponseBuilder::result(const Job& job, std::string_view text,
                                                     std::size_t text_bytes_max, std::int64_t now_s,
                                                     std::int64_t now_ms,
                                                     proto::ResultReport* report) {
    if (alt_kind_ != job.request.kind || alt_.empty()) {
        alt_ = result_alt_text(job.request.kind);
        alt_kind_ = job.request.kind;
    }
    proto::ResultSpec spec;
    spec.content = text;
    spec.content_bytes_max = text_bytes_max;
    spec.alt = alt_;
    spec.canonical = &canonical_;
    proto::Reject r = proto::build_result(job.request, job.relay_url, spec, now_s, keys_, random_,
                                          event_, report);
    if (r != proto::Reject::none) {
        LOG_ERROR("job %s: result not built: %.*s", job.job_id.c_str(),
                  static_cast<int>(proto::reject_text(r).size()), proto::reject_text(r).data());
        return nullptr;
    }
    return finish(job, now_ms);
}

}  // namespace pylon::engine
