// ws_bench: WebSocket echo throughput over loopback, and what each message costs our client.
// The server is tests/node/ws_server.mjs (the `ws` npm package, /echo), started by the harness,
// plain (ws://) or with a throwaway certificate (wss://, made with the openssl command). The
// client is one shard (net::WebSocket on the reactor) that keeps --window messages of --bytes
// text in flight and checks every echo's size (and the content of a sample). Figures:
// messages/s (echo round trips) and the client shard thread's CPU time (getrusage
// RUSAGE_THREAD, user + system) per message, which includes sending, masking, framing,
// receiving, TLS when on, and the reactor's own work; the server's CPU is not counted.
//
//   ws_bench [--messages 200000] [--bytes 1024] [--window 64] [--tls] [--runs 3]
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "net/websocket.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/sync.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace {

using namespace pylon;
using namespace pylon::net;
using reactor::Task;

struct Options {
    std::uint64_t messages = 200000;
    std::size_t bytes = 1024;
    std::uint32_t window = 64;
    bool tls = false;
    int runs = 3;
};

struct RunResult {
    double msgs_per_s = 0;
    double cpu_us_per_msg = 0;
    bool ok = false;
};

double thread_cpu_us() {
    rusage ru{};
    ::getrusage(RUSAGE_THREAD, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e6 +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

Task<void> sender(WebSocket* ws, const std::string* payload, std::uint64_t count,
                  reactor::AsyncSemaphore* window, bool* ok) {
    for (std::uint64_t i = 0; i < count && *ok; i++) {
        (void)co_await window->acquire();
        Status s = co_await ws->send_text(*payload);
        if (!s.ok()) {
            std::fprintf(stderr, "send: %s\n", s.error().message().c_str());
            *ok = false;
        }
    }
}

// Sends `count` messages with at most `window` in flight and reads every echo.
Task<bool> exchange(WebSocket* ws, const std::string* payload, std::uint64_t count,
                    std::uint32_t window_size) {
    reactor::AsyncSemaphore window(window_size);
    bool ok = true;
    reactor::Gate gate;
    gate.spawn(sender(ws, payload, count, &window, &ok));
    for (std::uint64_t i = 0; i < count && ok; i++) {
        Result<Message> m = co_await ws->next_message(10000);
        if (!m.ok() || m->data.size() != payload->size() ||
            (i % 4096 == 0 && m->data != *payload)) {
            std::fprintf(stderr, "echo %llu: %s\n", static_cast<unsigned long long>(i),
                         m.ok() ? "wrong content" : m.error().message().c_str());
            ok = false;
        }
        window.release();
    }
    co_await gate.close();
    co_return ok;
}

Task<void> client(std::string url, Options opt, std::string ca_file, RunResult* out) {
    WebSocketOptions wo;
    wo.ping_interval_ms = 0;
    wo.ca_file = ca_file;
    auto ws = co_await WebSocket::connect(url, wo);
    if (!ws.ok()) {
        std::fprintf(stderr, "connect: %s\n", ws.error().message().c_str());
        co_return;
    }
    std::string payload(opt.bytes, 'x');
    for (std::size_t i = 0; i < payload.size(); i++) {
        payload[i] = static_cast<char>('a' + (i * 7) % 26);
    }
    bool ok = co_await exchange(ws->get(), &payload, 2000, opt.window);  // warm-up
    double cpu0 = thread_cpu_us();
    std::int64_t t0 = reactor::monotonic_us();
    ok = ok && co_await exchange(ws->get(), &payload, opt.messages, opt.window);
    double seconds = static_cast<double>(reactor::monotonic_us() - t0) / 1e6;
    double cpu = thread_cpu_us() - cpu0;
    co_await (*ws)->close();
    out->ok = ok;
    out->msgs_per_s = static_cast<double>(opt.messages) / seconds;
    out->cpu_us_per_msg = cpu / static_cast<double>(opt.messages);
}

bool openssl_cmd(const std::string& args) {
    return std::system(("openssl " + args + " >/dev/null 2>&1").c_str()) == 0;
}

Options parse(int argc, char** argv) {
    Options o;
    for (int i = 1; i < argc; i++) {
        std::string a = argv[i];
        auto next = [&]() { return i + 1 < argc ? std::string(argv[++i]) : std::string(); };
        if (a == "--messages") {
            o.messages = std::stoull(next());
        } else if (a == "--bytes") {
            o.bytes = std::stoul(next());
        } else if (a == "--window") {
            o.window = static_cast<std::uint32_t>(std::stoul(next()));
        } else if (a == "--tls") {
            o.tls = true;
        } else if (a == "--runs") {
            o.runs = std::stoi(next());
        } else {
            std::fprintf(stderr,
                         "usage: ws_bench [--messages N] [--bytes B] [--window W] "
                         "[--tls] [--runs R]\n");
            std::exit(2);
        }
    }
    return o;
}

}  // namespace

int main(int argc, char** argv) {
    Options opt = parse(argc, argv);
    if (!test::node_available()) {
        std::fprintf(stderr, "ws_bench: %s\n", test::node_unavailable_reason().c_str());
        return 1;
    }
    auto dir = test::TempDir::create("pylon-ws-bench");
    std::vector<std::string> args = {"--max-runtime-s", "600"};
    std::string ca;
    if (opt.tls) {
        const std::string& d = dir->path();
        bool made = openssl_cmd(
            "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
            "-nodes -days 2 -subj /CN=bench -addext "
            "subjectAltName=IP:127.0.0.1 -keyout " +
            d + "/k.pem -out " + d + "/c.pem");
        if (!made) {
            std::fprintf(stderr, "ws_bench: openssl could not make a certificate\n");
            return 1;
        }
        args.insert(args.end(), {"--tls", "--cert", d + "/c.pem", "--key", d + "/k.pem"});
        ca = d + "/c.pem";
    }
    auto server = test::spawn_ready(test::node_script_spec("ws_server.mjs", args), 15000);
    if (!server.ok()) {
        std::fprintf(stderr, "ws_bench: %s\n", server.error().message().c_str());
        return 1;
    }
    std::string url = std::string(opt.tls ? "wss" : "ws") +
                      "://127.0.0.1:" + std::to_string(server->port) + "/echo";
    std::vector<RunResult> runs;
    for (int r = 0; r < opt.runs; r++) {
        RunResult res;
        reactor::ShardSetOptions so;
        so.shard_count = 1;
        so.pin = false;
        reactor::ShardSet set(so);
        Status st = set.run([&](reactor::Shard&) { return client(url, opt, ca, &res); });
        if (!st.ok() || !res.ok) {
            std::fprintf(stderr, "ws_bench: run %d failed\n", r);
            return 1;
        }
        std::printf("run %d: %.0f msgs/s, %.2f us client CPU per message\n", r, res.msgs_per_s,
                    res.cpu_us_per_msg);
        runs.push_back(res);
    }
    std::sort(runs.begin(), runs.end(),
              [](const RunResult& a, const RunResult& b) { return a.msgs_per_s < b.msgs_per_s; });
    const RunResult& med = runs[runs.size() / 2];
    std::printf("%s %zu B, window %u: median %.0f msgs/s per client shard, %.2f us CPU/msg\n",
                opt.tls ? "wss" : "ws", opt.bytes, opt.window, med.msgs_per_s, med.cpu_us_per_msg);
    return 0;
}
