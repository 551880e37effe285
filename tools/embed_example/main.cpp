// embed_example: a host application that runs a Pylon node in-process through the Runtime
// library (no daemon, no pid file, no socket): start it, print its status, print the events it
// emits for a while, stop it. Thin on purpose: everything is in engine/runtime.hpp.
//   usage: embed_example [--home DIR] [--seconds N] [--control]
//   --control also serves DIR/control.sock, so `pylon status --home DIR` can look at it.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "engine/runtime.hpp"
#include "proto/domain_event.hpp"

int main(int argc, char** argv) {
    std::string home;
    int seconds = 3;
    bool control = false;
    for (int i = 1; i < argc; i++) {
        if (std::strcmp(argv[i], "--home") == 0 && i + 1 < argc) {
            home = argv[++i];
        } else if (std::strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = std::atoi(argv[++i]);
        } else if (std::strcmp(argv[i], "--control") == 0) {
            control = true;
        } else {
            std::fprintf(stderr, "usage: embed_example [--home DIR] [--seconds N] [--control]\n");
            return 2;
        }
    }
    if (home.empty()) {
        char tmpl[] = "/tmp/pylon-embed-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) {
            std::perror("mkdtemp");
            return 1;
        }
        home = tmpl;
    }

    pylon::engine::RuntimeOptions options;
    options.home_dir = home;
    options.shards = 1;
    options.config.shards.pin = false;
    if (control) {
        options.control_socket_path = home + "/control.sock";
    }
    pylon::engine::Runtime runtime(std::move(options));
    if (pylon::Status st = runtime.start(); !st.ok()) {
        std::fprintf(stderr, "start failed: %s\n", st.error().message().c_str());
        return 1;
    }
    pylon::engine::RuntimeStatus s = runtime.status();
    std::printf("running: pid %lld, %u shard(s), jobs completed %llu, home %s\n",
                static_cast<long long>(s.pid), s.shards,
                static_cast<unsigned long long>(s.jobs_completed), s.home.c_str());
    std::printf("second start: %s\n", runtime.start().ok() ? "accepted (bug)" : "refused");
    std::fflush(stdout);

    auto events = runtime.subscribe(256);
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    pylon::proto::DomainEvent event;
    while (std::chrono::steady_clock::now() < until) {
        if (events->next(event, 200)) {
            std::printf("event: %s\n", pylon::proto::describe_domain_event(event).c_str());
            std::fflush(stdout);
        }
    }
    pylon::Status stopped = runtime.stop();
    std::printf("stopped: %s (events missed: %llu)\n",
                stopped.ok() ? "ok" : stopped.error().message().c_str(),
                static_cast<unsigned long long>(events->dropped()));
    return stopped.ok() ? 0 : 1;
}
