#include "net/resolver.hpp"

#include <netdb.h>
#include <sys/socket.h>

#include <cerrno>

#include "net/deadline.hpp"
#include "reactor/shard.hpp"
#include "reactor/sync.hpp"

namespace pylon::net {

// Shared by the asking coroutine and the thread; the answer is written by the thread before the
// post and read on the shard after it.
struct Resolver::Request {
    std::string host;
    std::uint16_t port = 0;
    std::size_t addresses_max = 0;
    reactor::Shard* shard = nullptr;
    // Written by the thread:
    std::vector<Address> addresses;
    int gai_error = 0;
    int sys_errno = 0;
    bool cancelled = false;
    // Touched on the shard only:
    reactor::AsyncEvent done;
    bool waiter_gone = false;
};

Resolver::Resolver(ResolverOptions options) : options_(options) {
    thread_ = std::thread([this] { thread_main(); });
}

Resolver::~Resolver() {
    stop();
}

void Resolver::stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

namespace {

void run_getaddrinfo(Resolver::Request& req) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_ADDRCONFIG;
    addrinfo* list = nullptr;
    std::string service = std::to_string(req.port);
    int rc = ::getaddrinfo(req.host.c_str(), service.c_str(), &hints, &list);
    if (rc != 0) {
        req.gai_error = rc;
        req.sys_errno = rc == EAI_SYSTEM ? errno : 0;
        return;
    }
    for (addrinfo* ai = list; ai != nullptr && req.addresses.size() < req.addresses_max;
         ai = ai->ai_next) {
        if (ai->ai_family == AF_INET || ai->ai_family == AF_INET6) {
            req.addresses.push_back(Address::from(ai->ai_addr, ai->ai_addrlen));
        }
    }
    ::freeaddrinfo(list);
}

void post_answer(std::shared_ptr<Resolver::Request> req) {
    reactor::Shard* shard = req->shard;
    shard->post_foreign([r = std::move(req)]() { r->done.set(); });
}

}  // namespace

void Resolver::thread_main() {
    // Named, or it would carry the name of the shard that made it (`pylon-shard0`): top -H and
    // pylon-bench's per-thread CPU would count DNS lookups as the shard's.
    pthread_setname_np(pthread_self(), thread_name);
    for (;;) {
        std::shared_ptr<Request> req;
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;
            }
            req = std::move(queue_.front());
            queue_.pop_front();
            if (stopping_) {
                req->cancelled = true;
            }
        }
        if (!req->cancelled) {
            run_getaddrinfo(*req);
        }
        post_answer(std::move(req));
    }
}

reactor::Task<Result<std::vector<Address>>> Resolver::resolve(std::string host, std::uint16_t port,
                                                              reactor::CancelToken token) {
    if (auto numeric = Address::numeric(host, port)) {
        co_return std::vector<Address>{*numeric};
    }
    auto req = std::make_shared<Request>();
    req->host = host;
    req->port = port;
    req->addresses_max = options_.addresses_max;
    req->shard = &reactor::Shard::current();
    {
        std::lock_guard lock(mutex_);
        if (stopping_) {
            co_return Error(Errc::cancelled, host + ": resolver stopped");
        }
        if (queue_.size() >= options_.requests_queued_max) {
            co_return Error(Errc::busy, host + ": resolver queue full (" +
                                            std::to_string(options_.requests_queued_max) +
                                            " requests)");
        }
        queue_.push_back(req);
    }
    wake_.notify_one();
    Deadline deadline(options_.resolve_timeout_ms, token);
    bool answered = co_await req->done.wait(deadline.token());
    if (!answered) {
        co_return Error(
            deadline.expired() ? Errc::timeout : Errc::cancelled,
            host + (deadline.expired() ? ": no DNS answer within " +
                                             std::to_string(options_.resolve_timeout_ms) + " ms"
                                       : ": resolve cancelled"));
    }
    if (req->cancelled) {
        co_return Error(Errc::cancelled, host + ": resolver stopped");
    }
    if (req->gai_error != 0) {
        co_return Error(Errc::dns, host + ": " + ::gai_strerror(req->gai_error), req->sys_errno);
    }
    if (req->addresses.empty()) {
        co_return Error(Errc::dns, host + ": no IPv4 or IPv6 address");
    }
    co_return std::move(req->addresses);
}

}  // namespace pylon::net
