#include "engine/ollama_backend.hpp"

#include "engine/spare_codec.hpp"
#include "net/ndjson.hpp"
#include "proto/reject.hpp"
#include "reactor/clock.hpp"

namespace pylon::engine {

using reactor::CancelToken;
using reactor::Task;

namespace {

class OllamaGeneration final : public Generation {
  public:
    OllamaGeneration(std::unique_ptr<net::HttpResponse> response, std::string where)
        : response_(std::move(response)), where_(std::move(where)) {}

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
    std::string where_;
    net::NdjsonSplitter splitter_;
    EventDecoder<proto::OllamaCodec>
        decoder_;  // a spare codec per line; owns what the event points to
    bool finished_ = false;
    std::int64_t received_ns_ = 0;
    bool body_ended_ = false;
};

Task<Result<proto::StreamEvent>> OllamaGeneration::next() {
    proto::StreamEvent ev;
    for (;;) {
        if (finished_) {
            co_return Error(Errc::closed, where_ + ": generation already finished");
        }
        auto line = body_ended_ ? splitter_.finish() : splitter_.next();
        if (!line.ok()) {
            finished_ = true;
            co_return Error(line.error().code(), where_ + ": " + line.error().message());
        }
        if (line.value().has_value()) {
            proto::Reject r =
                decoder_.decode(ev, [&](proto::OllamaCodec& c, proto::StreamEvent& e) {
                    return c.decode_line(*line.value(), e);
                });
            if (r != proto::Reject::none) {
                finished_ = true;
                co_await response_->cancel();
                co_return Error(Errc::protocol, where_ + ": unreadable stream line (" +
                                                    std::string(proto::reject_text(r)) + ")");
            }
            if (ev.kind == proto::StreamEvent::Kind::skip) {
                continue;
            }
            if (ev.kind != proto::StreamEvent::Kind::token) {
                finished_ = true;
                // The last record: the body's end follows; keep the connection for the next job.
                net::HttpResponse::finish(std::move(response_));
            }
            co_return ev;
        }
        if (body_ended_) {
            finished_ = true;
            co_return Error(Errc::protocol, where_ + ": stream ended without its final line");
        }
        auto piece = co_await response_->next_body();
        received_ns_ = reactor::monotonic_ns();
        if (!piece.ok()) {
            finished_ = true;
            co_return std::move(piece).error();
        }
        if (piece.value().empty()) {
            body_ended_ = true;
            continue;
        }
        splitter_.feed(piece.value());
    }
}

}  // namespace

OllamaBackend::OllamaBackend(OllamaOptions options)
    : HttpBackend(options.http), ollama_(std::move(options)), codec_(probe_limits(ollama_.http)) {}

Task<BackendProbe> OllamaBackend::probe(CancelToken token) {
    BackendProbe p;
    auto version = co_await get("/api/version", token);
    if (!version.ok()) {
        p.error = version.error().message();
        co_return p;
    }
    if (version->status != 200) {
        p.error = url() + ": /api/version answered HTTP " + std::to_string(version->status) +
                  "; is this an Ollama server?";
        co_return p;
    }
    if (proto::Reject r = codec_.parse_version(version->body, p.version);
        r != proto::Reject::none) {
        p.error = url() +
                  ": /api/version: not an Ollama version: " + std::string(proto::reject_text(r)) +
                  "; is this an Ollama server?";
        co_return p;
    }
    auto tags = co_await get("/api/tags", token);
    if (!tags.ok() || tags->status != 200) {
        p.error = tags.ok() ? url() + ": /api/tags answered HTTP " + std::to_string(tags->status)
                            : tags.error().message();
        co_return p;
    }
    // A 200 whose body is not a model list says so (it was reported as "answered HTTP 200").
    if (proto::Reject r = codec_.parse_models(tags->body, false, p.models);
        r != proto::Reject::none) {
        p.error = url() + ": /api/tags: not a model list: " + std::string(proto::reject_text(r));
        co_return p;
    }
    auto ps = co_await get("/api/ps", token);
    std::vector<proto::ModelInfo> loaded;
    if (ps.ok() && ps->status == 200 &&
        codec_.parse_models(ps->body, true, loaded) == proto::Reject::none) {
        for (auto& m : p.models) {
            for (const auto& l : loaded) {
                m.loaded = m.loaded || l.name == m.name;
            }
        }
    }
    p.slots = ollama_.slots;
    p.available = true;
    co_return p;
}

Task<Result<std::unique_ptr<Generation>>> OllamaBackend::generate(proto::GenerationParams params,
                                                                  CancelToken token) {
    std::string body;
    body.reserve(params.prompt.size() + params.model.size() + request_body_slack_bytes);
    proto::OllamaCodec::write_request(params, ollama_.use_chat, body);
    std::string target = ollama_.use_chat ? "/api/chat" : "/api/generate";
    auto resp = co_await post_stream(target, std::move(body), token,
                                     [this](std::string_view b) { return codec_.error_text(b); });
    if (!resp.ok()) {
        co_return std::move(resp).error();
    }
    std::unique_ptr<Generation> gen =
        std::make_unique<OllamaGeneration>(std::move(resp.value()), options().endpoint.name());
    co_return gen;
}

}  // namespace pylon::engine
