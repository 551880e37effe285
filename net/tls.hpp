// TLS client over any ByteStream, with OpenSSL 3 and memory BIOs (no kTLS: the kernels we run on
// lack the TLS ULP). Ciphertext from the lower stream is written into the read BIO (one copy) and
// plaintext is handed out from the stream's own buffer; whatever OpenSSL writes to the write
// BIO is queued on the lower stream, also after SSL_read (TLS 1.3 post-handshake messages).
//
// TlsContext holds the verification setup shared by connections: the system CA store by default
// (SSL_CTX_set_default_verify_paths) or exactly one CA file (tests, private relays), TLS 1.2 as
// the minimum version, no renegotiation. Safe to share between shards (OpenSSL contexts are
// thread-safe once built). TlsStream is one connection: SNI and hostname (or IP) verification
// against the name the caller connected to, a bounded handshake, clear errors
// ("relay.example.com:443: certificate verify failed: certificate has expired"), and a clean
// close_notify on close(). A TlsStream owns its lower stream and lives on one shard.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "net/byte_stream.hpp"
#include "net/socket_stream.hpp"
#include "net/tcp.hpp"
#include "reactor/cancel.hpp"
#include "reactor/task.hpp"

typedef struct ssl_ctx_st SSL_CTX;
typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace pylon::net {

class Resolver;

struct TlsContextOptions {
    std::string ca_file;  // empty: the system CA store
};

class TlsContext {
  public:
    static Result<std::shared_ptr<TlsContext>> create(const TlsContextOptions& options);
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;
    ~TlsContext();
    SSL_CTX* native() const noexcept { return ctx_; }

  private:
    explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
    SSL_CTX* ctx_;
};

struct TlsOptions {
    std::int64_t handshake_timeout_ms = 10000;
    std::int64_t close_flush_timeout_ms = 1000;  // close(): time to send close_notify
};

class TlsStream final : public ByteStream {
  public:
    // Runs the client handshake on `lower` for `server_name` (a DNS name or an IP literal).
    // On failure the lower stream is closed.
    static reactor::Task<Result<std::unique_ptr<TlsStream>>> handshake(
        std::unique_ptr<SocketStream> lower, std::shared_ptr<TlsContext> context,
        std::string server_name, TlsOptions options, reactor::CancelToken token = {});

    ~TlsStream() override;

    const std::string& peer_name() const noexcept override { return lower_->peer_name(); }
    std::string protocol_version() const;  // "TLSv1.3"

    reactor::Task<Result<Bytes>> read(std::int64_t timeout_ms = 0,
                                      reactor::CancelToken token = {}) override;
    Result<std::size_t> try_write(Bytes bytes) override;
    reactor::Task<Status> wait_writable(std::int64_t timeout_ms,
                                        reactor::CancelToken token) override;
    reactor::Task<Status> flush(std::int64_t timeout_ms, reactor::CancelToken token) override;
    reactor::Task<void> close() override;
    bool closed() const noexcept override { return closed_; }

  private:
    TlsStream(std::unique_ptr<SocketStream> lower, SSL* ssl, TlsOptions options);
    reactor::Task<Status> run_handshake(std::int64_t timeout_ms, reactor::CancelToken token);
    // Moves everything OpenSSL wrote to the write BIO into the lower send queue (which may
    // overshoot its bound by about one record: try_write() stops at a full queue).
    Status drain_wbio();
    Error ssl_error(int rc, const char* what) const;

    std::unique_ptr<SocketStream> lower_;
    SSL* ssl_;
    BIO* rbio_;
    BIO* wbio_;
    TlsOptions options_;
    std::vector<std::uint8_t> plain_;
    bool peer_closed_ = false;
    bool closed_ = false;
};

// Connects TCP to host:port and runs the TLS handshake for `host`.
reactor::Task<Result<std::unique_ptr<TlsStream>>> tls_connect(std::string host, std::uint16_t port,
                                                              Resolver* resolver, TcpOptions tcp,
                                                              std::shared_ptr<TlsContext> context,
                                                              TlsOptions options,
                                                              reactor::CancelToken token = {});

}  // namespace pylon::net
