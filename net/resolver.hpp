// Resolver: DNS off the shards. One thread runs getaddrinfo for requests queued by shards (a
// bounded queue: beyond requests_queued_max a request fails at once with Errc::busy) and posts
// each answer back to the asking shard with Shard::post_foreign. A request that is not answered
// within its timeout resumes its caller with Errc::timeout; the late answer is then dropped.
// Numeric hosts never reach the thread. resolve() is called on a shard; the Resolver itself is
// shared by all shards and must be stopped (or destroyed) after every resolve() has returned and
// before the shards it answers are destroyed.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "net/address.hpp"
#include "reactor/cancel.hpp"
#include "reactor/result.hpp"
#include "reactor/task.hpp"

namespace pylon::net {

struct ResolverOptions {
    std::size_t requests_queued_max = 64;
    std::int64_t resolve_timeout_ms = 5000;
    std::size_t addresses_max = 8;  // answers kept per name
};

class Resolver {
  public:
    static constexpr const char* thread_name = "pylon-resolver";  // at most 15 bytes

    explicit Resolver(ResolverOptions options = {});
    Resolver(const Resolver&) = delete;
    Resolver& operator=(const Resolver&) = delete;
    ~Resolver();

    // The addresses of host:port (IPv4 and IPv6, getaddrinfo order). A numeric host is answered
    // at once without the thread. Errors: Errc::dns ("name: <gai reason>"), Errc::timeout,
    // Errc::busy (queue full), Errc::cancelled.
    reactor::Task<Result<std::vector<Address>>> resolve(std::string host, std::uint16_t port,
                                                        reactor::CancelToken token = {});
    // Stops the thread (pending requests are answered with Errc::cancelled). Idempotent.
    void stop();

    struct Request;

  private:
    void thread_main();

    ResolverOptions options_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Request>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace pylon::net
