#include "engine/http_backend.hpp"

#include "engine/backend_factory.hpp"

namespace pylon::engine {

using reactor::CancelToken;
using reactor::Task;

HttpBackend::HttpBackend(HttpBackendOptions options)
    : options_(std::move(options)),
      url_("http://" + options_.endpoint.name()),
      client_(std::make_unique<net::HttpClient>(options_.endpoint, options_.http)) {}

void HttpBackend::set_request_timeout_ms(std::int64_t ms) noexcept {
    options_.http.timeouts = generation_timeouts(ms);
    client_->set_timeouts(options_.http.timeouts);
}

Task<void> HttpBackend::close() {
    co_await client_->close();
}

Task<Result<HttpBackend::Got>> HttpBackend::get(std::string target, CancelToken token) {
    net::HttpRequest req;
    req.method = "GET";
    req.target = std::move(target);
    req.headers = options_.headers;
    auto resp = co_await client_->send(std::move(req), token);
    if (!resp.ok()) {
        co_return std::move(resp).error();
    }
    Got got;
    got.status = resp.value()->status();
    auto body = co_await resp.value()->read_all(options_.probe_body_bytes_max);
    if (!body.ok()) {
        co_return std::move(body).error();
    }
    got.body = std::move(body.value());
    co_return got;
}

Task<Result<std::unique_ptr<net::HttpResponse>>> HttpBackend::post_stream(
    std::string target, std::string body, CancelToken token,
    std::function<std::string(std::string_view)> error_text) {
    net::HttpRequest req;
    req.method = "POST";
    req.target = target;
    req.headers = options_.headers;
    req.body = std::move(body);
    auto resp = co_await client_->send(std::move(req), token);
    if (!resp.ok()) {
        co_return std::move(resp).error();
    }
    int status = resp.value()->status();
    if (status >= 200 && status < 300) {
        co_return std::move(resp.value());
    }
    auto text = co_await resp.value()->read_all(options_.error_body_bytes_max);
    std::string reason = text.ok() ? error_text(text.value()) : std::string();
    if (reason.empty() && text.ok()) {
        reason = text.value().substr(0, 200);
    }
    Errc code = status == 404                    ? Errc::not_found
                : status == 503                  ? Errc::busy
                : status == 401 || status == 403 ? Errc::permission
                : status >= 400 && status < 500  ? Errc::invalid_input
                                                 : Errc::protocol;
    co_return Error(code, options_.endpoint.name() + " " + target + ": HTTP " +
                              std::to_string(status) + (reason.empty() ? "" : ": " + reason));
}

}  // namespace pylon::engine
