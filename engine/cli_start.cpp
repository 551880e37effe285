// `pylon start`: runs the node. (Foundation version: probe io_uring, start N shards, wait for
// SIGINT/SIGTERM, stop every shard and exit 0. The daemon issue grows this into the full runtime.)
#include <memory>
#include <vector>

#include "engine/cli_commands.hpp"
#include "reactor/log.hpp"
#include "reactor/probe.hpp"
#include "reactor/shard_set.hpp"
#include "reactor/signals.hpp"
#include "reactor/sync.hpp"

namespace pylon::engine {
namespace {

using reactor::AsyncEvent;
using reactor::Shard;
using reactor::Task;

struct StopEvents {
    std::vector<std::unique_ptr<AsyncEvent>> per_shard;
};

Task<void> watch_signals(StopEvents* stops, unsigned shard_count) {
    auto reader = reactor::SignalReader::open();
    if (!reader.ok()) {
        LOG_ERROR("cannot read signals: %s", reader.error().message().c_str());
        co_return;
    }
    for (;;) {
        int sig = co_await reader->next();
        if (sig == SIGINT || sig == SIGTERM) {
            LOG_INFO("received %s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
            break;
        }
        if (sig < 0) {
            LOG_ERROR("signal read failed: %d", sig);
            break;
        }
        LOG_INFO("received signal %d (ignored)", sig);
    }
    for (unsigned i = 0; i < shard_count; i++) {
        AsyncEvent* ev = stops->per_shard[i].get();
        reactor::post(i, reactor::Message([ev]() { ev->set(); }));
    }
}

Task<void> shard_main(Shard& shard, StopEvents* stops) {
    if (shard.id() == 0) {
        shard.spawn(watch_signals(stops, shard.set()->size()));
    }
    co_await stops->per_shard[shard.id()]->wait();
    LOG_DEBUG("shard %u stopping", shard.id());
}

}  // namespace

int cmd_start(CliContext& ctx) {
    if (!ctx.args.has("foreground")) {
        return fail(ctx, "background mode is not available yet; use pylon start --foreground");
    }
    auto shards = ctx.args.integer("shards", 0, 0, 256);
    if (!shards.ok()) {
        std::fprintf(ctx.err, "pylon start: %s\n", shards.error().message().c_str());
        return exit_usage;
    }
    reactor::block_handled_signals();
    reactor::UringFeatures features = reactor::probe_uring();
    if (Status st = reactor::require_uring(features); !st.ok()) {
        return fail(ctx, st.error().message());
    }
    reactor::ShardSetOptions options;
    options.shard_count = static_cast<unsigned>(shards.value());
    reactor::ShardSet set(options);
    StopEvents stops;
    for (unsigned i = 0; i < set.size(); i++) {
        stops.per_shard.push_back(std::make_unique<AsyncEvent>());
    }
    LOG_INFO("pylon starting on %u shard(s), home %s", set.size(), ctx.home.dir().c_str());
    Status st = set.run([&stops](Shard& shard) { return shard_main(shard, &stops); });
    if (!st.ok()) {
        return fail(ctx, st.error().message());
    }
    LOG_INFO("pylon stopped");
    return exit_ok;
}

}  // namespace pylon::engine
