#include "engine/llamacpp_backend.hpp"

#include "engine/spare_codec.hpp"
#include "net/sse.hpp"
#include "proto/reject.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {

using reactor::CancelToken;
using reactor::Task;
using Route = proto::LlamaCppCodec::Route;

namespace {

class LlamaGeneration final : public Generation {
  public:
    LlamaGeneration(std::unique_ptr<net::HttpResponse> response, Route route, std::string where)
        : response_(std::move(response)), route_(route), where_(std::move(where)) {}

    Task<Result<proto::StreamEvent>> next() override;
    Task<void> cancel() override {
        finished_ = true;
        if (response_) {
            co_await response_->cancel();
        }
    }
    std::int64_t received_ns() const noexcept override { return received_ns_; }

  private:
    std::unique_ptr<net::HttpResponse> response_;
    Route route_;
    std::string where_;
    net::SseParser parser_;
    EventDecoder<proto::LlamaCppCodec>
        decoder_;  // a spare codec per line; owns what the event points to
    proto::FinishReason pending_finish_ = proto::FinishReason::none;
    bool finished_ = false;
    std::int64_t received_ns_ = 0;
};

Task<Result<proto::StreamEvent>> LlamaGeneration::next() {
    proto::StreamEvent ev;
    for (;;) {
        if (finished_) {
            co_return Error(Errc::closed, where_ + ": generation already finished");
        }
        auto sse = parser_.next();
        if (!sse.ok()) {
            finished_ = true;
            co_return Error(sse.error().code(), where_ + ": " + sse.error().message());
        }
        if (sse.value().has_value()) {
            proto::Reject r =
                decoder_.decode(ev, [&](proto::LlamaCppCodec& c, proto::StreamEvent& e) {
                    return c.decode_event(route_, sse.value()->data, e);
                });
            if (r != proto::Reject::none) {
                finished_ = true;
                co_await response_->cancel();
                co_return Error(Errc::protocol, where_ + ": unreadable stream event (" +
                                                    std::string(proto::reject_text(r)) + ")");
            }
            if (ev.finish != proto::FinishReason::none &&
                ev.kind == proto::StreamEvent::Kind::skip) {
                pending_finish_ = ev.finish;  // chat: finish_reason comes before [DONE]
                continue;
            }
            if (ev.kind == proto::StreamEvent::Kind::skip) {
                continue;
            }
            if (ev.kind == proto::StreamEvent::Kind::done &&
                pending_finish_ != proto::FinishReason::none) {
                ev.finish = pending_finish_;
            }
            if (ev.kind != proto::StreamEvent::Kind::token || ev.last) {
                finished_ = true;
                // The last record: the body's end follows; keep the connection for the next job.
                net::HttpResponse::finish(std::move(response_));
            }
            co_return ev;
        }
        auto piece = co_await response_->next_body();
        received_ns_ = reactor::monotonic_ns();
        if (!piece.ok()) {
            finished_ = true;
            co_return std::move(piece).error();
        }
        if (piece.value().empty()) {
            finished_ = true;
            co_return Error(Errc::protocol, where_ + ": stream ended before its final event");
        }
        parser_.feed(piece.value());
    }
}

}  // namespace

namespace {
HttpBackendOptions with_api_key(HttpBackendOptions http, const std::string& api_key) {
    if (!api_key.empty()) {
        http.headers.emplace_back("Authorization", "Bearer " + api_key);
    }
    return http;
}
}  // namespace

LlamaCppBackend::LlamaCppBackend(LlamaCppOptions options)
    : HttpBackend(with_api_key(options.http, options.api_key)),
      llama_(std::move(options)),
      codec_(probe_limits(llama_.http)) {}

Task<BackendProbe> LlamaCppBackend::probe(CancelToken token) {
    BackendProbe p;
    auto health = co_await get("/health", token);
    if (!health.ok()) {
        p.error = health.error().message();
        co_return p;
    }
    if (health->status == 503) {
        p.loading = true;
        p.error = url() + ": loading its model (/health answered 503)";
        co_return p;
    }
    if (health->status != 200) {
        p.error = url() + ": /health answered HTTP " + std::to_string(health->status);
        co_return p;
    }
    auto props = co_await get("/props", token);
    proto::LlamaProps lp;
    if (props.ok() && props->status == 200 &&
        codec_.parse_props(props->body, lp) == proto::Reject::none) {
        p.slots = lp.total_slots;
        p.version = lp.model_path;
    }
    auto models = co_await get("/v1/models", token);
    if (!models.ok() || models->status != 200) {
        p.error = models.ok()
                      ? url() + ": /v1/models answered HTTP " + std::to_string(models->status)
                      : models.error().message();
        co_return p;
    }
    // A 200 whose body is not a model list says so (it was reported as "answered HTTP 200").
    if (proto::Reject r = codec_.parse_models(models->body, p.models); r != proto::Reject::none) {
        p.error = url() + ": /v1/models: not a model list: " + std::string(proto::reject_text(r));
        co_return p;
    }
    p.available = true;
    co_return p;
}

Task<Result<std::unique_ptr<Generation>>> LlamaCppBackend::generate(proto::GenerationParams params,
                                                                    CancelToken token) {
    Route route = llama_.use_chat ? Route::chat : Route::completion;
    std::string body;
    body.reserve(params.prompt.size() + params.model.size() + request_body_slack_bytes);
    proto::LlamaCppCodec::write_request(params, route, body);
    std::string target = llama_.use_chat ? "/v1/chat/completions" : "/completion";
    auto resp = co_await post_stream(target, std::move(body), token,
                                     [this](std::string_view b) { return codec_.error_text(b); });
    if (!resp.ok()) {
        co_return std::move(resp).error();
    }
    std::unique_ptr<Generation> gen = std::make_unique<LlamaGeneration>(
        std::move(resp.value()), route, options().endpoint.name());
    co_return gen;
}

}  // namespace pylon::engine
