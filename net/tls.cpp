#include "net/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>

#include "net/address.hpp"
#include "net/deadline.hpp"

namespace pylon::net {

using reactor::Task;

namespace {

constexpr std::size_t plain_bytes_max = 16 * 1024;  // one TLS record of plaintext
constexpr std::size_t write_slice_bytes_max = 16 * 1024;

std::string openssl_reason() {
    unsigned long e = ERR_get_error();
    ERR_clear_error();
    if (e == 0) {
        return "TLS failure";
    }
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    const char* reason = ERR_reason_error_string(e);
    return reason != nullptr ? reason : buf;
}

}  // namespace

// ---- TlsContext ----

Result<std::shared_ptr<TlsContext>> TlsContext::create(const TlsContextOptions& options) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == nullptr) {
        return Error(Errc::tls, "TLS context: " + openssl_reason());
    }
    std::shared_ptr<TlsContext> out(new TlsContext(ctx));
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    int ok = options.ca_file.empty()
                 ? SSL_CTX_set_default_verify_paths(ctx)
                 : SSL_CTX_load_verify_locations(ctx, options.ca_file.c_str(), nullptr);
    if (ok != 1) {
        return Error(Errc::tls,
                     (options.ca_file.empty() ? std::string("system CA store") : options.ca_file) +
                         ": " + openssl_reason());
    }
    return out;
}

TlsContext::~TlsContext() {
    SSL_CTX_free(ctx_);
}

// ---- TlsStream ----

TlsStream::TlsStream(std::unique_ptr<SocketStream> lower, SSL* ssl, TlsOptions options)
    : lower_(std::move(lower)), ssl_(ssl), options_(options), plain_(plain_bytes_max) {
    rbio_ = BIO_new(BIO_s_mem());
    wbio_ = BIO_new(BIO_s_mem());
    PYLON_ASSERT(rbio_ != nullptr && wbio_ != nullptr);
    BIO_set_mem_eof_return(rbio_, -1);  // an empty read BIO means "retry", not EOF
    SSL_set_bio(ssl_, rbio_, wbio_);    // the SSL owns both BIOs now
    SSL_set_connect_state(ssl_);
}

TlsStream::~TlsStream() {
    PYLON_ASSERT_MSG(closed_, "TlsStream destroyed without close()");
    SSL_free(ssl_);
}

std::string TlsStream::protocol_version() const {
    return SSL_get_version(ssl_);
}

Error TlsStream::ssl_error(int rc, const char* what) const {
    int err = SSL_get_error(ssl_, rc);
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK) {
        ERR_clear_error();
        std::string reason = X509_verify_cert_error_string(verify);
        return Error(Errc::tls, peer_name() + ": certificate verify failed: " + reason);
    }
    if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_SSL) {
        return Error(Errc::tls, peer_name() + ": " + what + ": " + openssl_reason());
    }
    ERR_clear_error();
    return Error(Errc::tls, peer_name() + ": " + what + " failed (" + std::to_string(err) + ")");
}

Status TlsStream::drain_wbio() {
    char buf[16 * 1024];
    for (;;) {
        int n = BIO_read(wbio_, buf, sizeof buf);
        if (n <= 0) {
            return Ok{};
        }
        Status queued = lower_->write_overshoot(
            Bytes(reinterpret_cast<const std::uint8_t*>(buf), static_cast<std::size_t>(n)));
        if (!queued.ok()) {
            return queued;
        }
    }
}

Task<Status> TlsStream::run_handshake(std::int64_t timeout_ms, reactor::CancelToken token) {
    Deadline deadline(timeout_ms, token);
    for (;;) {
        ERR_clear_error();
        int rc = SSL_do_handshake(ssl_);
        Status pushed = drain_wbio();
        if (!pushed.ok()) {
            co_return pushed;
        }
        if (rc == 1) {
            co_return Ok{};
        }
        if (SSL_get_error(ssl_, rc) != SSL_ERROR_WANT_READ) {
            co_return ssl_error(rc, "TLS handshake");
        }
        Result<Bytes> got = co_await lower_->read(0, deadline.token());
        if (!got.ok()) {
            if (deadline.expired()) {
                co_return Error(Errc::timeout, peer_name() + ": TLS handshake not done within " +
                                                   std::to_string(timeout_ms) + " ms");
            }
            co_return std::move(got).error();
        }
        if (got->empty()) {
            co_return Error(Errc::closed, peer_name() + ": connection closed during TLS handshake");
        }
        BIO_write(rbio_, got->data(), static_cast<int>(got->size()));
    }
}

Task<Result<std::unique_ptr<TlsStream>>> TlsStream::handshake(std::unique_ptr<SocketStream> lower,
                                                              std::shared_ptr<TlsContext> context,
                                                              std::string server_name,
                                                              TlsOptions options,
                                                              reactor::CancelToken token) {
    SSL* ssl = SSL_new(context->native());
    if (ssl == nullptr) {
        co_await lower->close();
        co_return Error(Errc::tls, lower->peer_name() + ": SSL_new: " + openssl_reason());
    }
    std::string bare = server_name;
    if (bare.size() >= 2 && bare.front() == '[' && bare.back() == ']') {
        bare = bare.substr(1, bare.size() - 2);
    }
    X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
    if (is_numeric_host(bare)) {
        X509_VERIFY_PARAM_set1_ip_asc(param, bare.c_str());  // no SNI for IP literals
    } else {
        SSL_ctrl(ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(bare.c_str()));
        X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        X509_VERIFY_PARAM_set1_host(param, bare.c_str(), 0);
    }
    std::unique_ptr<TlsStream> s(new TlsStream(std::move(lower), ssl, options));
    Status st = co_await s->run_handshake(options.handshake_timeout_ms, token);
    if (!st.ok()) {
        s->peer_closed_ = true;  // no close_notify after a failed handshake
        co_await s->close();
        co_return std::move(st).error();
    }
    co_return std::move(s);
}

Task<Result<Bytes>> TlsStream::read(std::int64_t timeout_ms, reactor::CancelToken token) {
    if (closed_) {
        co_return Error(Errc::closed, peer_name() + ": closed");
    }
    for (;;) {
        ERR_clear_error();
        std::size_t n = 0;
        int rc = SSL_read_ex(ssl_, plain_.data(), plain_.size(), &n);
        Status pushed = drain_wbio();  // post-handshake messages, key updates, alerts
        if (!pushed.ok()) {
            co_return std::move(pushed).error();
        }
        if (rc == 1) {
            co_return Bytes(plain_.data(), n);
        }
        int err = SSL_get_error(ssl_, rc);
        if (err == SSL_ERROR_ZERO_RETURN) {
            peer_closed_ = true;
            co_return Bytes{};  // close_notify
        }
        if (err != SSL_ERROR_WANT_READ) {
            co_return ssl_error(rc, "TLS read");
        }
        Result<Bytes> got = co_await lower_->read(timeout_ms, token);
        if (!got.ok()) {
            co_return std::move(got).error();
        }
        if (got->empty()) {
            peer_closed_ = true;
            co_return Bytes{};  // closed without close_notify (framing above us decides)
        }
        BIO_write(rbio_, got->data(), static_cast<int>(got->size()));
    }
}

Result<std::size_t> TlsStream::try_write(Bytes bytes) {
    if (closed_) {
        return Error(Errc::closed, peer_name() + ": closed");
    }
    std::size_t done = 0;
    // Encrypt only while the lower queue has room: the queue is the bound.
    while (done < bytes.size() && lower_->write_room() > 0) {
        std::size_t slice = std::min(bytes.size() - done, write_slice_bytes_max);
        std::size_t written = 0;
        ERR_clear_error();
        if (SSL_write_ex(ssl_, bytes.data() + done, slice, &written) != 1) {
            return ssl_error(0, "TLS write");
        }
        done += written;
        Status queued = drain_wbio();
        if (!queued.ok()) {
            return std::move(queued).error();
        }
    }
    return done;
}

Task<Status> TlsStream::wait_writable(std::int64_t timeout_ms, reactor::CancelToken token) {
    return lower_->wait_writable(timeout_ms, token);
}

Task<Status> TlsStream::flush(std::int64_t timeout_ms, reactor::CancelToken token) {
    Status queued = drain_wbio();
    if (!queued.ok()) {
        co_return queued;
    }
    co_return co_await lower_->flush(timeout_ms, token);
}

Task<void> TlsStream::close() {
    if (closed_) {
        co_return;
    }
    closed_ = true;
    if (!peer_closed_ && SSL_is_init_finished(ssl_) == 1 && !lower_->closed()) {
        ERR_clear_error();
        SSL_shutdown(ssl_);  // queue our close_notify
        if (drain_wbio().ok()) {
            (void)co_await flush(options_.close_flush_timeout_ms, {});
        }
    }
    ERR_clear_error();
    co_await lower_->close();
}

Task<Result<std::unique_ptr<TlsStream>>> tls_connect(std::string host, std::uint16_t port,
                                                     Resolver* resolver, TcpOptions tcp,
                                                     std::shared_ptr<TlsContext> context,
                                                     TlsOptions options,
                                                     reactor::CancelToken token) {
    auto tcp_stream = co_await tcp_connect(host, port, resolver, tcp, token);
    if (!tcp_stream.ok()) {
        co_return std::move(tcp_stream).error();
    }
    co_return co_await TlsStream::handshake(std::move(tcp_stream).value(), std::move(context), host,
                                            options, token);
}

}  // namespace pylon::net
