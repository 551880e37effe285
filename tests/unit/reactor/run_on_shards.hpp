// Test helper: run a coroutine per shard on a fresh ShardSet (unpinned) and wait for it.
#pragma once

#include <functional>

#include "reactor/shard_set.hpp"

namespace pylon::reactor::testing {

inline void run_on_shards(unsigned count, std::function<Task<void>(Shard&)> main,
                          ShardSetOptions options = {}) {
    options.shard_count = count;
    options.pin = false;
    ShardSet set(options);
    Status st = set.run(std::move(main));
    if (!st.ok()) {
        std::fprintf(stderr, "ShardSet::run failed: %s\n", st.error().message().c_str());
        std::abort();
    }
}

inline void run_on_shard(std::function<Task<void>()> main, ShardSetOptions options = {}) {
    run_on_shards(
        1, [&main](Shard&) { return main(); }, std::move(options));
}

}  // namespace pylon::reactor::testing
