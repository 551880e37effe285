// HttpClient: the HTTP/1.1 client Pylon uses for local inference backends (Ollama,
// llama-server). One HttpClient per backend per shard; it owns a ConnectionPool of keep-alive
// connections. send() writes the request (method, target, headers, optional body) and returns
// once the response head has arrived; the caller then reads the body piece by piece as it
// arrives with HttpResponse::next_body() (NdjsonSplitter and SseParser sit on top of that).
// A response that ends cleanly with keep-alive returns its connection to the pool; a response
// abandoned early (cancel(), an error, or destruction) closes its connection, which is how
// Ollama and llama-server learn to stop generating. A caller that has what it needs before the
// body's end on the wire (a stream's final record arrives just before the chunked terminator)
// hands the response to HttpResponse::finish(): the rest of the body is read in the background
// (at most finish_bytes_max within finish_timeout_ms) and the connection then goes back to the
// pool instead of being closed, so the next request needs no new connection. A reused
// connection the server closed meanwhile is retried once on a new one (send()).
//
// Timeouts (HttpTimeouts): connect_timeout_ms, first_byte_timeout_ms (request sent -> first
// response byte), idle_timeout_ms (between body pieces), total_timeout_ms (the whole exchange).
// Errors carry the backend: "127.0.0.1:11434: Connection refused", "127.0.0.1:8080: no response
// within 30000 ms", "127.0.0.1:11434: connection reset mid-stream after 1234 bytes".
// One shard; HttpResponses must be finished or destroyed before HttpClient::close().
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "net/connection_pool.hpp"
#include "net/deadline.hpp"
#include "net/http_parser.hpp"
#include "reactor/cancel.hpp"
#include "reactor/gate.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

struct HttpTimeouts {
    std::int64_t connect_timeout_ms = 2000;
    std::int64_t first_byte_timeout_ms = 30000;
    std::int64_t idle_timeout_ms = 30000;
    std::int64_t total_timeout_ms = 0;  // 0 = no limit for the whole exchange
};

struct HttpClientOptions {
    HttpTimeouts timeouts{};
    std::int64_t finish_timeout_ms = 1000;     // HttpResponse::finish(): the rest within this
    std::size_t finish_bytes_max = 64 * 1024;  // HttpResponse::finish(): more left: close
    HttpLimits limits{};
    PoolOptions pool{};
    StreamOptions stream{};
};

struct HttpRequest {
    std::string method = "GET";
    std::string target = "/";
    std::vector<std::pair<std::string, std::string>> headers;  // extra headers
    std::string body;                                          // sent with Content-Length
    std::string content_type = "application/json";             // used when body is not empty
};

// The request head as written on the wire; Errc::invalid_input for CR/LF or bad tokens.
Result<std::string> write_request_head(const HttpRequest& request, std::string_view host);

class HttpClient;

class HttpResponse {
  public:
    HttpResponse(const HttpResponse&) = delete;
    HttpResponse& operator=(const HttpResponse&) = delete;
    ~HttpResponse();

    const HttpResponseHead& head() const noexcept { return parser_.head(); }
    int status() const noexcept { return parser_.head().status; }
    std::uint64_t body_bytes() const noexcept { return parser_.body_bytes(); }
    bool done() const noexcept { return parser_.done(); }
    bool reused_connection() const noexcept { return reused_; }

    // The next body piece as it arrived (valid until the next call); empty when the body ended.
    // Cancellation comes from the token given to HttpClient::send().
    reactor::Task<Result<Bytes>> next_body();
    // The whole (remaining) body, refused beyond bytes_max.
    reactor::Task<Result<std::string>> read_all(std::size_t bytes_max);
    // Abandons the response and closes the connection (awaits the close).
    reactor::Task<void> cancel();
    // Reads the rest of the body in the background (discarding it), then puts the connection
    // back in the pool; closes it instead on an error, a timeout or too many bytes. Returns at
    // once (at once done when the end was already received).
    static void finish(std::unique_ptr<HttpResponse> response);

  private:
    friend class HttpClient;
    HttpResponse(HttpClient* client, std::int64_t total_timeout_ms, reactor::CancelToken token);
    Error stream_error(const Error& e, bool mid_body) const;
    void release_connection();
    // Parses what was already received; true when the body ended (the connection is released).
    bool finish_received();
    static reactor::Task<void> finish_in_background(std::unique_ptr<HttpResponse> self);

    HttpClient* client_;
    HttpTimeouts timeouts_;  // the client's when it was sent (a later set_timeouts: not this one)
    Deadline total_;
    std::unique_ptr<SocketStream> stream_;
    HttpResponseParser parser_;
    Bytes rest_;  // received, not yet parsed (a view into the stream's input buffer)
    bool reused_ = false;
    bool got_first_byte_ = false;
};

class HttpClient {
  public:
    HttpClient(Endpoint endpoint, HttpClientOptions options, Resolver* resolver = nullptr);
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    const Endpoint& endpoint() const noexcept { return pool_.endpoint(); }
    ConnectionPool& pool() noexcept { return pool_; }
    const HttpClientOptions& options() const noexcept { return options_; }
    // For the requests sent from now on (a reload); a response under way keeps its bounds.
    void set_timeouts(const HttpTimeouts& timeouts) noexcept { options_.timeouts = timeouts; }

    // Sends `request` and waits for the response head. A reused keep-alive connection that
    // turns out to be closed before any response byte is retried once on a fresh one.
    reactor::Task<Result<std::unique_ptr<HttpResponse>>> send(HttpRequest request,
                                                              reactor::CancelToken token = {});
    // Stops HttpResponse::finish()es still running, then closes the pool (after every response is
    // finished or destroyed).
    reactor::Task<void> close();
    std::uint64_t finished_in_background() const noexcept { return finished_; }

  private:
    friend class HttpResponse;
    reactor::Task<Status> exchange(HttpResponse* r, const std::string* head,
                                   const std::string* body, bool head_request);

    HttpClientOptions options_;
    ConnectionPool pool_;
    reactor::Gate finishers_;
    reactor::CancelSource finish_stop_;
    std::uint64_t finished_ = 0;  // bodies HttpResponse::finish() read to their end
};

}  // namespace pylon::net
