// Config: the typed settings of one node, as read from config.toml. Every field is declared once,
// in the engine/settings_<table>.def file of its TOML table, by a PYLON_SETTING line that also
// gives its unit, default, bounds and one-line doc (engine/settings.hpp explains the line, and
// the table of all settings built from the same lines drives parsing, validation,
// `pylon config --defaults` and docs/config.md). A default-constructed Config holds every
// default. Plain data: copy it freely; each shard keeps its own copy (reloads replace it).
//
// To add a setting: add one PYLON_SETTING line to the .def file of its table. To add a table:
// write engine/settings_<table>.def, add its struct below (and a member of Config), and one
// PYLON_TABLE line in engine/settings.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pylon::engine {

// The C++ type of each setting type named in the .def files.
using setting_Bool = bool;
using setting_Int = std::int64_t;
using setting_Str = std::string;
using setting_OptStr = std::optional<std::string>;
using setting_StrList = std::vector<std::string>;
using setting_IntList = std::vector<std::int64_t>;

#define PYLON_LIST(...) \
    { __VA_ARGS__ }
#define PYLON_NONE std::nullopt
#define PYLON_SETTING(field, type, unit, def, min, max, check, reload, doc) \
    setting_##type field = def;

struct IdentityConfig {
#include "engine/settings_identity.def"
};
struct ProviderConfig {
#include "engine/settings_provider.def"
};
struct RelayPoolConfig {
#include "engine/settings_relay_pool.def"
};
struct OllamaBackendConfig {
#include "engine/settings_backends_ollama.def"
};
struct LlamacppBackendConfig {
#include "engine/settings_backends_llamacpp.def"
};
struct BackendsConfig {
    OllamaBackendConfig ollama;
    LlamacppBackendConfig llamacpp;
};
struct LimitsConfig {
#include "engine/settings_limits.def"
};
struct ControlConfig {
#include "engine/settings_control.def"
};
struct StoreConfig {
#include "engine/settings_store.def"
};
struct ShardsConfig {
#include "engine/settings_shards.def"
};
struct MemoryConfig {
#include "engine/settings_memory.def"
};
struct SupervisorConfig {
#include "engine/settings_supervisor.def"
};
struct WorkerConfig {
#include "engine/settings_worker.def"
};
struct AgentsConfig {
#include "engine/settings_agents.def"
};
struct LogConfig {
#include "engine/settings_log.def"
};

struct Config {
#include "engine/settings_top.def"
    IdentityConfig identity;
    ProviderConfig provider;
    RelayPoolConfig relay_pool;
    BackendsConfig backends;
    LimitsConfig limits;
    ControlConfig control;
    StoreConfig store;
    ShardsConfig shards;
    MemoryConfig memory;
    SupervisorConfig supervisor;
    WorkerConfig worker;
    AgentsConfig agents;
    LogConfig log;
};

#undef PYLON_SETTING

}  // namespace pylon::engine
