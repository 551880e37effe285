// HttpBackend: what OllamaBackend and LlamaCppBackend share: an HttpClient per shard for the
// server's endpoint, JSON GETs with a size bound, and turning a non-2xx answer into an Error
// that carries the server's own message ("127.0.0.1:11434: HTTP 404: model 'x' not found").
// One shard.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/backend.hpp"
#include "net/http_client.hpp"
#include "proto/limits.hpp"

namespace pylon::engine {

// Room reserved for a generation request's JSON beyond its prompt and model (keys, options): the
// body is then written without growing it step by step.
inline constexpr std::size_t request_body_slack_bytes = 512;

struct HttpBackendOptions {
    net::Endpoint endpoint;
    net::HttpClientOptions http{};
    std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
    std::size_t probe_body_bytes_max = 4 * 1024 * 1024;
    std::size_t error_body_bytes_max = 64 * 1024;
};

class HttpBackend : public Backend {
  public:
    explicit HttpBackend(HttpBackendOptions options);
    const std::string& url() const noexcept override { return url_; }
    void set_request_timeout_ms(std::int64_t ms) noexcept override;
    reactor::Task<void> close() override;
    // Keep-alive connections waiting in this client's pool (tests, diagnostics).
    std::size_t idle_connections() noexcept { return client_->pool().idle_count(); }

  protected:
    struct Got {
        int status = 0;
        std::string body;
    };
    // GET `target`, read the whole body (bounded). Errors: connection or protocol failures.
    reactor::Task<Result<Got>> get(std::string target, reactor::CancelToken token);
    // POST a JSON body and wait for the response head. A non-2xx status becomes an Error whose
    // text is the server's message as `error_text` extracts it from the body.
    reactor::Task<Result<std::unique_ptr<net::HttpResponse>>> post_stream(
        std::string target, std::string body, reactor::CancelToken token,
        std::function<std::string(std::string_view)> error_text);

    net::HttpClient& client() noexcept { return *client_; }
    const HttpBackendOptions& options() const noexcept { return options_; }
    // JSON bounds for a probe's body: as large as the body may be (a server with hundreds of
    // models lists them in more than a stream line's 128 KiB).
    static proto::Limits probe_limits(const HttpBackendOptions& options) noexcept {
        proto::Limits limits;
        limits.message_bytes_max = options.probe_body_bytes_max;
        return limits;
    }

  private:
    HttpBackendOptions options_;
    std::string url_;
    std::unique_ptr<net::HttpClient> client_;
};

}  // namespace pylon::engine
