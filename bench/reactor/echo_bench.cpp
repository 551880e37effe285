// echo_bench: loopback echo round trips per second on one CPU, the reactor (multishot receive into
// a provided-buffer ring, SINGLE_ISSUER|DEFER_TASKRUN ring) against a plain epoll loop written
// here, in the same run. Both variants put the clients and the echo servers of `--pairs` TCP
// connections on one thread pinned to one CPU, so the figure is the per-core cost of a round trip.
//
//   echo_bench [--pairs 64] [--bytes 64] [--seconds 3] [--runs 3] [--cpu 0] [--json]
//
// Prints the median round trips/s of each variant over the runs and the ratio reactor/epoll.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "reactor/recv_stream.hpp"
#include "reactor/shard_set.hpp"

namespace {

using namespace pylon::reactor;

struct Options {
    int pairs = 64;
    int bytes = 64;
    double seconds = 3;
    int runs = 3;
    int cpu = 0;
    bool json = false;
};

struct Pair {
    int client = -1;
    int server = -1;
};

std::vector<Pair> make_pairs(int n) {
    int lfd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(lfd, 1024) != 0) {
        std::perror("bind/listen");
        std::exit(1);
    }
    socklen_t len = sizeof addr;
    ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
    std::vector<Pair> pairs;
    for (int i = 0; i < n; i++) {
        Pair p;
        p.client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (::connect(p.client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
            std::perror("connect");
            std::exit(1);
        }
        p.server = ::accept4(lfd, nullptr, nullptr, SOCK_CLOEXEC);
        int one = 1;
        ::setsockopt(p.client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        ::setsockopt(p.server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pairs.push_back(p);
    }
    ::close(lfd);
    return pairs;
}

void close_pairs(std::vector<Pair>& pairs) {
    for (auto& p : pairs) {
        ::close(p.client);
        ::close(p.server);
    }
}

void pin(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(static_cast<std::size_t>(cpu), &set);
    ::sched_setaffinity(0, sizeof set, &set);
}

// ---- epoll baseline: level-triggered, recv + send syscalls, one message in flight per pair.
double run_epoll(const Options& o) {
    std::vector<Pair> pairs = make_pairs(o.pairs);
    int ep = ::epoll_create1(EPOLL_CLOEXEC);
    std::vector<char> msg(static_cast<std::size_t>(o.bytes), 'x');
    std::vector<char> buf(65536);
    for (std::size_t i = 0; i < pairs.size(); i++) {
        for (int fd : {pairs[i].client, pairs[i].server}) {
            ::fcntl(fd, F_SETFL, O_NONBLOCK);
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = (static_cast<std::uint64_t>(i) << 1) | (fd == pairs[i].server ? 1u : 0u);
            ::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        }
        ::send(pairs[i].client, msg.data(), msg.size(), MSG_NOSIGNAL);
    }
    std::vector<std::size_t> got(pairs.size(), 0);
    std::uint64_t trips = 0;
    std::int64_t t0 = monotonic_ns();
    std::int64_t end = t0 + static_cast<std::int64_t>(o.seconds * 1e9);
    epoll_event events[128];
    while (monotonic_ns() < end) {
        int n = ::epoll_wait(ep, events, 128, 100);
        for (int k = 0; k < n; k++) {
            std::size_t i = events[k].data.u64 >> 1;
            bool server = (events[k].data.u64 & 1) != 0;
            int fd = server ? pairs[i].server : pairs[i].client;
            ssize_t r = ::recv(fd, buf.data(), buf.size(), 0);
            if (r <= 0) {
                continue;
            }
            if (server) {
                ::send(fd, buf.data(), static_cast<std::size_t>(r), MSG_NOSIGNAL);
            } else {
                got[i] += static_cast<std::size_t>(r);
                while (got[i] >= msg.size()) {
                    got[i] -= msg.size();
                    trips++;
                    ::send(fd, msg.data(), msg.size(), MSG_NOSIGNAL);
                }
            }
        }
    }
    double secs = static_cast<double>(monotonic_ns() - t0) / 1e9;
    ::close(ep);
    close_pairs(pairs);
    return static_cast<double>(trips) / secs;
}

// ---- reactor variant: per pair one echo coroutine and one client coroutine on one shard.
struct ReactorRun {
    const Options* o;
    std::int64_t end_ns;
    std::uint64_t trips = 0;
};

Task<void> echo_server(int fd, ReactorRun* run) {
    RecvStream stream(fd);
    std::vector<char> copy;
    while (monotonic_ns() < run->end_ns) {
        RecvChunk c = co_await stream.next(200);
        if (!c.ok()) {
            if (c.error == -ETIME) {
                continue;
            }
            break;
        }
        copy.assign(reinterpret_cast<const char*>(c.buffer.data()),
                    reinterpret_cast<const char*>(c.buffer.data()) + c.buffer.size());
        c.buffer.reset();
        co_await send(fd, copy.data(), copy.size());
    }
    co_await stream.stop();
}

Task<void> echo_client(int fd, ReactorRun* run) {
    RecvStream stream(fd);
    std::vector<char> msg(static_cast<std::size_t>(run->o->bytes), 'x');
    std::size_t got = 0;
    co_await send(fd, msg.data(), msg.size());
    while (monotonic_ns() < run->end_ns) {
        RecvChunk c = co_await stream.next(200);
        if (!c.ok()) {
            if (c.error == -ETIME) {
                continue;
            }
            break;
        }
        got += c.buffer.size();
        c.buffer.reset();
        while (got >= msg.size()) {
            got -= msg.size();
            run->trips++;
            co_await send(fd, msg.data(), msg.size());
        }
    }
    co_await stream.stop();
}

double run_reactor(const Options& o) {
    std::vector<Pair> pairs = make_pairs(o.pairs);
    ShardSetOptions so;
    so.shard_count = 1;
    so.cpus = {o.cpu};
    so.shard.recv_buffers.buffer_count = 1024;
    so.shard.recv_buffers.buffer_bytes = 4096;
    ShardSet set(so);
    ReactorRun run{&o, 0, 0};
    std::int64_t t0 = 0;
    std::int64_t t1 = 0;
    pylon::Status st = set.run([&](Shard&) -> Task<void> {
        return [](std::vector<Pair>* ps, ReactorRun* r, std::int64_t* start,
                  std::int64_t* stop) -> Task<void> {
            Gate gate;
            *start = monotonic_ns();
            r->end_ns = *start + static_cast<std::int64_t>(r->o->seconds * 1e9);
            for (const Pair& p : *ps) {
                gate.spawn(echo_server(p.server, r));
                gate.spawn(echo_client(p.client, r));
            }
            co_await gate.close();
            *stop = monotonic_ns();
        }(&pairs, &run, &t0, &t1);
    });
    if (!st.ok()) {
        std::fprintf(stderr, "reactor: %s\n", st.error().message().c_str());
        std::exit(1);
    }
    close_pairs(pairs);
    double secs = static_cast<double>(std::min(t1, run.end_ns) - t0) / 1e9;
    return static_cast<double>(run.trips) / secs;
}

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : "0"; };
        if (a == "--pairs") {
            o.pairs = std::atoi(next());
        } else if (a == "--bytes") {
            o.bytes = std::atoi(next());
        } else if (a == "--seconds") {
            o.seconds = std::atof(next());
        } else if (a == "--runs") {
            o.runs = std::atoi(next());
        } else if (a == "--cpu") {
            o.cpu = std::atoi(next());
        } else if (a == "--json") {
            o.json = true;
        } else {
            std::fprintf(stderr,
                         "usage: echo_bench [--pairs N] [--bytes B] [--seconds S] [--runs R] "
                         "[--cpu C] [--json]\n");
            return 2;
        }
    }
    if (o.pairs < 1 || o.pairs > 4096 || o.bytes < 1 || o.bytes > 4096 || o.runs < 1 ||
        o.seconds <= 0) {
        std::fprintf(stderr, "echo_bench: option out of range\n");
        return 2;
    }
    pin(o.cpu);
    std::vector<double> ep;
    std::vector<double> ur;
    for (int r = 0; r < o.runs; r++) {  // interleave so drift hits both variants alike
        ep.push_back(run_epoll(o));
        ur.push_back(run_reactor(o));
        if (!o.json) {
            std::fprintf(stderr, "run %d/%d: epoll %.0f  reactor %.0f round trips/s\n", r + 1,
                         o.runs, ep.back(), ur.back());
        }
    }
    double e = median(ep);
    double u = median(ur);
    if (o.json) {
        std::printf(
            "{\"pairs\":%d,\"bytes\":%d,\"seconds\":%.1f,\"runs\":%d,"
            "\"epoll_round_trips_per_s\":%.0f,\"reactor_round_trips_per_s\":%.0f,"
            "\"ratio\":%.3f}\n",
            o.pairs, o.bytes, o.seconds, o.runs, e, u, u / e);
    } else {
        std::printf("epoll   %10.0f round trips/s (median of %d)\n", e, o.runs);
        std::printf("reactor %10.0f round trips/s (median of %d)\n", u, o.runs);
        std::printf("ratio reactor/epoll: %.2f\n", u / e);
    }
    return 0;
}
