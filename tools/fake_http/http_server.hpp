// HttpServer: the small HTTP/1.1 server under the fake backends (fake_ollama, fake_llamacpp).
// Plain POSIX sockets, no Pylon code: it listens on 127.0.0.1 only, runs one thread per accepted
// connection up to connections_max (beyond that a connection gets 503 and is closed), parses
// requests with size bounds (head_bytes_max, body_bytes_max; Content-Length bodies only, a chunked
// request body is refused with 411), keeps connections alive between requests, and hands each
// request to a Handler together with the Connection to answer on.
//
// A Connection answers with a full response (Content-Length) or a chunked stream whose chunks go
// out one write each, so a client sees real time gaps between them. Waits inside a handler go
// through Connection::wait_ms, which returns early when the client closes the connection (that is
// how the fakes notice cancellation) or when the server stops. Sockets are non-blocking and every
// blocking point also watches the server's stop pipe, so stop() always finishes.
//
// Threads: the accept thread and the connection threads belong to the server; a Handler runs on
// a connection thread and must be safe to call concurrently. stop() is called from one thread
// (the main thread) and joins them all.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pylon::fake {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
    std::string method;
    std::string target;  // as sent: path + optional query
    std::string path;
    std::string query;  // without '?'
    std::string version;
    Headers headers;  // names lowercased
    std::string body;

    std::optional<std::string> header(std::string_view name) const;
    // The raw value of a query parameter (no percent-decoding: the fakes need none).
    std::optional<std::string> query_param(std::string_view name) const;
};

enum class Wait : std::uint8_t { elapsed, client_closed, stopping };

class Connection {
  public:
    Connection(int fd, int stop_fd) : fd_(fd), stop_fd_(stop_fd) {}

    // A complete response with Content-Length; `head_only` sends the headers of that response
    // without its body (for HEAD). False when the client is gone.
    bool send_full(int status, std::string_view content_type, std::string_view body,
                   const Headers& extra = {}, bool head_only = false);

    // A chunked response: begin, any number of chunks (one write each), end.
    bool begin_chunked(int status, std::string_view content_type, const Headers& extra = {});
    bool write_chunk(std::string_view data);
    bool end_chunked();
    bool streaming() const { return streaming_; }

    // Closes with SO_LINGER 0 so the client sees a connection reset.
    void reset();
    // Marks the connection to close after the current response ("Connection: close").
    void close_after_response() { keep_alive_ = false; }

    // Sleeps up to ms, returning early when the client closes or the server stops.
    Wait wait_ms(int ms);
    // Never answers: waits until the client closes or the server stops.
    Wait hang();
    // A non-blocking check whether the client has closed (or reset) the connection.
    bool client_gone();

    bool keep_alive() const { return keep_alive_ && !closed_; }
    bool closed() const { return closed_; }
    int fd() const { return fd_; }

  private:
    friend class HttpServer;
    bool send_all(std::string_view data);
    std::string head(int status, std::string_view content_type, const Headers& extra,
                     std::string_view length_or_chunked);

    int fd_;
    int stop_fd_;
    bool keep_alive_ = true;
    bool streaming_ = false;
    bool closed_ = false;     // client gone or we reset: nothing more can be sent
    bool pipelined_ = false;  // the client already sent bytes of a next request
};

using Handler = std::function<void(const Request&, Connection&)>;

struct ServerLimits {
    std::size_t head_bytes_max = 16 * 1024;
    std::size_t body_bytes_max = 1024 * 1024;
    std::size_t connections_max = 64;
    int idle_timeout_ms = 60 * 1000;  // a keep-alive connection with no request is closed
};

class HttpServer {
  public:
    explicit HttpServer(ServerLimits limits = {});
    HttpServer(const HttpServer&) = delete;
    HttpServer& operator=(const HttpServer&) = delete;
    ~HttpServer();

    // Binds 127.0.0.1:port (0 = any free port). False with a message on failure.
    bool listen(std::uint16_t port, std::string* error);
    std::uint16_t port() const { return port_; }

    // Starts the accept thread; `handler` serves every request.
    void start(Handler handler);
    // Stops accepting, wakes every connection, joins all threads. Idempotent.
    void stop();

  private:
    struct Worker {
        std::thread thread;
        std::atomic<bool> done{true};
    };

    void accept_loop();
    void serve(int fd);
    void close_gracefully(int fd);
    // Reads the next request into `req`. False: close the connection (an error response, if
    // any, has been sent).
    bool read_request(Connection& conn, std::string& buffer, Request& req);
    bool parse_head(std::string_view head, Request& req, int* error_status);

    ServerLimits limits_;
    int listen_fd_ = -1;
    int stop_pipe_[2] = {-1, -1};
    std::uint16_t port_ = 0;
    Handler handler_;
    std::thread acceptor_;
    std::vector<std::unique_ptr<Worker>> workers_;  // connections_max entries
    bool stopped_ = false;
};

// The reason phrase of an HTTP status code ("OK", "Not Found", ...).
std::string_view status_reason(int status);

}  // namespace pylon::fake
