// `pylon doctor [-v] [--json]`: checks what a node needs, one line per check with a fix hint:
// the home folder, the free disk there, the config file, the identity, the database, the daemon and
// its control socket, file permissions, the children start would supervise (a program or model
// that does not exist warns), io_uring, the backends (probed for real, 4 s each) and the
// relays (a real WebSocket handshake each, in parallel, 4 s; reachability warns, it is not part of
// the verdict, as in Pylon).
// The verdict is Pylon's: ready to earn when the identity exists and a backend answers, and also
// (ours) when `pylon start` would accept the config: its start-time refusals (the payment gate,
// a backend URL it cannot use) are failed checks named "start". A home that is not a usable
// folder fails and skips the checks of the files in it. Exit 0 when no check failed, 1 otherwise.
// JSON: {"checks":[{name,status,detail,fix}],"ready":B}.
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <optional>
#include <thread>

#include "engine/backend_directory.hpp"
#include "engine/backend_factory.hpp"
#include "engine/cli_commands.hpp"
#include "engine/cli_util.hpp"
#include "engine/config_file.hpp"
#include "engine/identity_file.hpp"
#include "engine/llamacpp_backend.hpp"
#include "engine/ollama_backend.hpp"
#include "engine/provider_services.hpp"
#include "engine/store_db.hpp"
#include "engine/supervised_children.hpp"
#include "net/deadline.hpp"
#include "net/resolver.hpp"
#include "net/websocket.hpp"
#include "proto/json_writer.hpp"
#include "reactor/gate.hpp"
#include "reactor/probe.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {
namespace {

constexpr std::int64_t backend_probe_timeout_ms = 4000;
constexpr std::int64_t relay_probe_timeout_ms = 4000;  // Pylon's doctor

enum class Level : std::uint8_t { ok, warn, fail, info };

struct Check {
    std::string name;
    Level level;
    std::string detail;
    std::string fix;
};

std::string_view level_name(Level l) {
    switch (l) {
        case Level::ok:
            return "ok";
        case Level::warn:
            return "warn";
        case Level::fail:
            return "fail";
        case Level::info:
            return "info";
    }
    return "?";
}

std::string_view level_mark(Level l) {
    switch (l) {
        case Level::ok:
            return "\u2705";
        case Level::warn:
            return "\u26a0\ufe0f ";
        case Level::fail:
            return "\u274c";
        case Level::info:
            return "\u2139\ufe0f ";
    }
    return "?";
}

// Mode bits beyond `allowed` as text ("0644"), or "" when the file is private enough.
std::string loose_mode(const std::string& path, mode_t allowed) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0 || (st.st_mode & 0777 & ~allowed) == 0) {
        return "";
    }
    char buf[8];
    std::snprintf(buf, sizeof buf, "%04o", st.st_mode & 0777);
    return buf;
}

// False when the home exists but is no usable folder (a file, or not ours to read): the checks
// of the files in it are then skipped, their errors would only repeat this one.
bool check_home(const Home& home, std::vector<Check>& out) {
    struct stat st {};
    if (::stat(home.dir().c_str(), &st) != 0) {
        int err = errno;
        if (err == ENOENT) {
            out.push_back(
                {"home", Level::warn, home.dir() + " does not exist yet", "pylon init creates it"});
            return true;
        }
        out.push_back({"home", Level::fail, Error::from_errno(err, home.dir()).message(),
                       "run pylon as the home's owner, or pass --home DIR"});
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        out.push_back({"home", Level::fail, home.dir() + " is not a folder",
                       "move that file aside, or pass --home DIR (PYLON_HOME)"});
        return false;
    }
    if (::access(home.dir().c_str(), R_OK | W_OK | X_OK) != 0) {
        out.push_back({"home", Level::fail, Error::from_errno(errno, home.dir()).message(),
                       "run pylon as the home's owner, or pass --home DIR"});
        return false;
    }
    std::string mode = loose_mode(home.dir(), 0700);
    out.push_back({"home", mode.empty() ? Level::ok : Level::warn,
                   home.dir() + (mode.empty() ? "" : " is mode " + mode),
                   mode.empty() ? "" : "chmod 700 " + home.dir()});
    return true;
}

// Free space on the home's file system (its nearest existing folder): the database, its WAL and
// the logs grow there, and SQLite cannot commit on a full disk (the jobs of that transaction
// fail; `pylon status` shows failed commits). Below disk_free_warn_bytes: a warning, never a
// failure (the node runs until the disk is actually full).
constexpr std::uint64_t disk_free_warn_bytes = 1ULL << 30;

void check_disk(const Home& home, std::vector<Check>& out) {
    std::filesystem::path dir = home.dir();
    struct statvfs fs {};
    while (::statvfs(dir.c_str(), &fs) != 0) {
        if (!dir.has_parent_path() || dir.parent_path() == dir) {
            out.push_back({"disk", Level::warn, "cannot read the free space of " + home.dir(),
                           "check that the home folder's file system is mounted"});
            return;
        }
        dir = dir.parent_path();
    }
    std::uint64_t free_bytes = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
    std::uint64_t total_bytes = static_cast<std::uint64_t>(fs.f_blocks) * fs.f_frsize;
    std::string detail =
        format_bytes(free_bytes) + " free of " + format_bytes(total_bytes) + " on " + dir.string();
    if (free_bytes < disk_free_warn_bytes) {
        out.push_back({"disk", Level::warn, detail,
                       "free space there: the database, its WAL (64 MB after checkpoints) and the "
                       "logs need room, and a full disk fails jobs"});
    } else {
        out.push_back({"disk", Level::ok, detail, ""});
    }
}

// What `pylon start` refuses on beyond the config file's own checks (check_config loads it
// with those): the provider's payment gate and each registered backend's URL, with the
// messages start gives.
bool check_start(const Config& config, std::vector<Check>& out) {
    std::vector<std::string> problems;
    std::string payments = provider_config_problem(config);
    if (!payments.empty()) {
        problems.push_back("payments: " + payments);
    }
    for (BackendKind kind : registered_backends(config, nullptr)) {
        auto endpoint = parse_backend_url(backend_url(kind, config));
        if (!endpoint.ok()) {
            problems.push_back("backends: [backends." + std::string(backend_kind_name(kind)) +
                               "] " + endpoint.error().message());
        }
    }
    for (const std::string& p : problems) {
        out.push_back({"start", Level::fail, p, "pylon start refuses this config: change it"});
    }
    return problems.empty();
}

// The config file, or nullopt when it does not load (start would refuse it).
std::optional<Config> check_config(const Home& home, std::vector<Check>& out) {
    auto loaded = load_config_file(home.config_path());
    if (!loaded.ok()) {
        out.push_back({"config", Level::fail, loaded.error().message(),
                       "fix the file at the position shown (docs/config.md lists every key)"});
        return std::nullopt;
    }
    if (!loaded->file_found) {
        out.push_back({"config", Level::ok, home.config_path() + " not found: defaults", ""});
    } else if (!loaded->warnings.empty()) {
        out.push_back(
            {"config", Level::warn,
             std::to_string(loaded->warnings.size()) + " warning(s): " + loaded->warnings.front(),
             "remove or rename the keys named (pylon config --defaults shows all)"});
    } else {
        out.push_back({"config", Level::ok, home.config_path(), ""});
    }
    return loaded->config;
}

bool check_identity(const Home& home, const Config& config, std::vector<Check>& out) {
    std::string path = identity_path(home, config);
    auto id = load_identity(path, static_cast<std::uint32_t>(config.identity.account));
    if (!id.ok()) {
        Errc code = id.error().code();
        bool missing = code == Errc::not_found;
        std::string fix = missing ? "pylon init"
                          : code == Errc::permission
                              ? "run pylon as the file's owner, or fix its owner and mode"
                              : "restore identity.mnemonic from your backup";
        out.push_back(
            {"identity", Level::fail, missing ? "no identity" : id.error().message(), fix});
        return false;
    }
    std::string mode = loose_mode(path, 0600);
    out.push_back({"identity", mode.empty() ? Level::ok : Level::warn,
                   id->npub + (mode.empty() ? "" : " (" + path + " is mode " + mode + ")"),
                   mode.empty() ? "" : "chmod 600 " + path});
    return true;
}

// `daemon_pid`: the running daemon's (0: none), whose own transactions hold the lock a moment.
void check_database(const Home& home, pid_t daemon_pid, std::vector<Check>& out) {
    auto db = StoreDb::open({home.db_path(), true});
    if (db.ok()) {
        auto counts = (*db)->counts();
        out.push_back({"database", Level::ok,
                       home.db_path() + " (" +
                           std::to_string(counts.ok() ? counts->jobs_total : 0) + " jobs)",
                       ""});
        // Another process holding the write lock (not the daemon's own transaction; the same
        // holder in two looks 200 ms apart, not a commit passing by): the node's writes wait
        // for it, then fail.
        std::string holder = wal_write_lock_holder(home.db_path(), daemon_pid);
        if (!holder.empty()) {
            std::this_thread::sleep_for(std::chrono::milliseconds(200));
            if (wal_write_lock_holder(home.db_path(), daemon_pid) != holder) {
                holder.clear();
            }
        }
        if (!holder.empty()) {
            out.push_back({"database lock", Level::warn,
                           "the write lock on pylon.db is held by " + holder +
                               ": the node's writes wait for it ([store] busy_timeout_ms), then "
                               "fail",
                           "end that process's transaction (an open sqlite3 session, a backup)"});
        }
    } else if (db.error().code() == Errc::not_found) {
        out.push_back({"database", Level::ok, "none yet (created at the first start)", ""});
    } else if (db.error().code() == Errc::unsupported) {
        out.push_back({"database", Level::warn, db.error().message(), "pylon start upgrades it"});
    } else {
        out.push_back({"database", Level::fail, db.error().message(),
                       "move " + home.db_path() + " aside; a new one is created at start"});
    }
}

void check_daemon(const Home& home, DaemonLink& link, std::vector<Check>& out) {
    if (link.pid.state == PidState::running) {
        // A node at its control connection limit answers with a refusal: busy, not silent.
        bool answers = false;
        std::string refusal = link.pid.pid <= 0 ? link.error : "";  // no pid file: find_daemon's
        if (link.client.has_value()) {
            auto ping = link.client->request("\"Ping\"");
            if (ping.ok() && ping->tag == "Error") {
                refusal = "its control socket refused: " + ping->error;
            } else if (!ping.ok() && ping.error().code() == Errc::busy) {
                refusal = "its control socket refused: " + ping.error().message();
            } else {
                answers = ping.ok();
            }
        }
        bool refused = !answers && !refusal.empty();
        out.push_back({"daemon", answers ? Level::ok : Level::warn,
                       "running (" + pid_text(link.pid) + ")" +
                           (answers   ? ", control socket answers"
                            : refused ? ": " + refusal
                                      : ", control socket silent"),
                       answers       ? ""
                       : link.silent ? "the node is hung or stopped (SIGSTOP): look at its "
                                       "process, or end it by its pid"
                       : refused     ? "try again once fewer control clients are connected"
                                     : "pylon stop && pylon start"});
        std::string mode = loose_mode(home.socket_path(), 0600);
        if (!mode.empty()) {
            out.push_back({"control socket", Level::fail, "mode " + mode, "restart the daemon"});
        }
        return;
    }
    out.push_back(
        {"daemon", Level::info,
         link.pid.state == PidState::stale ? "not running (stale pid file)" : "not running",
         "pylon start"});
}

// The children `pylon start` would supervise: a spawned llama-server, the worker, the agents.
// One that cannot be started (a program not found, llama-server's model missing) warns with the
// reason the supervisor would give it (`not_spawning`); the node itself still starts.
void check_children(const Home& home, const Config& config, std::vector<Check>& out) {
    auto report = [&out](const char* name, const ChildConfig& c, const char* fix) {
        const std::string& why = c.not_spawning_reason;
        if (why.empty()) {
            out.push_back({name, Level::ok, "starts " + c.spawn.argv.front(), ""});
        } else {
            out.push_back({name, Level::warn, "cannot start: " + why, fix});
        }
    };
    if (!config.backends.llamacpp.enabled && !config.backends.llamacpp.binary.empty()) {
        out.push_back(
            {"llama-server", Level::info, "not started: backends.llamacpp.enabled is false", ""});
    } else if (auto llama = llamacpp_child(config)) {
        report("llama-server", *llama,
               "fix [backends.llamacpp] binary and model (paths that exist), or set binary = \"\" "
               "to use a llama-server started elsewhere");
    }
    if (auto worker = worker_child(config, home)) {
        report("worker", *worker,
               "fix [worker] command (a path that exists, or a program in PATH)");
    }
    if (!config.agents.command.empty() && !config.agents.accounts.empty()) {
        report("agents", agent_child(config, home, "agent", 0, ""),
               "fix [agents] command (a path that exists, or a program in PATH)");
    }
}

bool check_uring(std::vector<Check>& out, bool verbose) {
    reactor::UringFeatures f = reactor::probe_uring();
    Status st = reactor::require_uring(f);
    std::string detail = "kernel " + f.kernel_release;
    if (verbose) {
        detail.clear();
        for (const std::string& line : f.describe()) {
            detail += (detail.empty() ? "" : "; ") + line;
        }
    }
    out.push_back({"io_uring", st.ok() ? Level::ok : Level::fail,
                   st.ok() ? detail : st.error().message(), st.ok() ? "" : "see the message"});
    return st.ok();
}

// "http://host:port/..." -> host and port (plain http only).
bool parse_http_url(const std::string& url, std::string& host, std::uint16_t& port) {
    const std::string scheme = "http://";
    if (url.rfind(scheme, 0) != 0) {
        return false;
    }
    std::string rest = url.substr(scheme.size());
    rest = rest.substr(0, rest.find('/'));
    std::size_t colon = rest.rfind(':');
    host = colon == std::string::npos ? rest : rest.substr(0, colon);
    long p = colon == std::string::npos ? 80 : std::strtol(rest.c_str() + colon + 1, nullptr, 10);
    if (host == "localhost") {
        host = "127.0.0.1";
    }
    port = static_cast<std::uint16_t>(p > 0 && p < 65536 ? p : 80);
    return !host.empty();
}

struct BackendResult {
    std::string id;
    std::string url;
    bool attempted = false;
    BackendProbe probe;
};

reactor::Task<void> probe_one(BackendResult* r) {
    HttpBackendOptions http;
    if (!parse_http_url(r->url, http.endpoint.host, http.endpoint.port)) {
        r->probe.error = "only http:// URLs can be probed here";
        co_return;
    }
    http.http.timeouts.connect_timeout_ms = backend_probe_timeout_ms;
    http.http.timeouts.first_byte_timeout_ms = backend_probe_timeout_ms;
    std::unique_ptr<Backend> backend;
    if (r->id == "ollama") {
        backend = std::make_unique<OllamaBackend>(OllamaOptions{http, 1, false});
    } else {
        backend = std::make_unique<LlamaCppBackend>(LlamaCppOptions{http, false, ""});
    }
    r->attempted = true;
    net::Deadline deadline(backend_probe_timeout_ms);
    r->probe = co_await backend->probe(deadline.token());
    co_await backend->close();
}

struct RelayResult {
    std::string url;
    bool reachable = false;
    std::string error;
};

// A real WebSocket handshake (TCP, TLS for wss://, HTTP upgrade) within the 4 s of Pylon's
// doctor, then a clean close.
reactor::Task<void> probe_relay(RelayResult* r, net::Resolver* resolver) {
    net::WebSocketOptions options;
    options.connect_timeout_ms = relay_probe_timeout_ms;
    options.handshake_timeout_ms = relay_probe_timeout_ms;
    options.ping_interval_ms = 0;
    options.resolver = resolver;
    net::Deadline deadline(relay_probe_timeout_ms);
    auto ws = co_await net::WebSocket::connect(r->url, options, deadline.token());
    if (!ws.ok()) {
        r->error = deadline.expired() ? "no handshake within 4 s" : ws.error().message();
        co_return;
    }
    r->reachable = true;
    co_await ws.value()->close(1000, "doctor");
}

struct NetworkProbe {
    std::vector<BackendResult> backends;
    std::vector<RelayResult> relays;
    net::Resolver* resolver = nullptr;
};

reactor::Task<void> probe_network(NetworkProbe* n) {
    reactor::Gate gate;
    for (RelayResult& r : n->relays) {
        gate.spawn(probe_relay(&r, n->resolver));  // in parallel, like Pylon's
    }
    for (BackendResult& b : n->backends) {
        co_await probe_one(&b);
    }
    co_await gate.close();
}

NetworkProbe run_network_probe(const Config& config) {
    NetworkProbe n;
    if (config.backends.ollama.enabled) {
        n.backends.push_back({"ollama", config.backends.ollama.url, false, {}});
    }
    if (config.backends.llamacpp.enabled) {
        n.backends.push_back({"llamacpp", config.backends.llamacpp.url, false, {}});
    }
    for (const std::string& url : config.relays) {
        n.relays.push_back({url, false, ""});
    }
    net::Resolver resolver;
    n.resolver = &resolver;
    reactor::ShardSetOptions options;
    options.shard_count = 1;
    options.pin = false;
    {
        reactor::ShardSet set(options);
        Status ran = set.run([&n](reactor::Shard&) { return probe_network(&n); });
        if (!ran.ok()) {
            for (BackendResult& b : n.backends) {
                b.probe.error = ran.error().message();
            }
            for (RelayResult& r : n.relays) {
                r.error = ran.error().message();
            }
        }
    }
    resolver.stop();
    n.resolver = nullptr;
    return n;
}

bool report_backends(const NetworkProbe& n, bool verbose, std::vector<Check>& out) {
    bool any = false;
    for (const BackendResult& r : n.backends) {
        bool up = r.probe.available;
        any = any || up;
        if (!up && !verbose) {
            continue;  // Pylon shows unavailable backends only with -v
        }
        std::string detail = r.id + " at " + r.url;
        if (up) {
            detail += ": " + std::to_string(r.probe.models.size()) + " model(s)";
            if (!r.probe.models.empty()) {
                detail += " (" + r.probe.models.front().name +
                          (r.probe.models.size() > 1 ? ", ..." : "") + ")";
            }
        } else {
            detail += ": " + (r.probe.error.empty() ? std::string("not answering") : r.probe.error);
        }
        out.push_back({"backend " + r.id, up ? Level::ok : Level::info, detail, ""});
    }
    if (!any) {
        // Where the node will look: the configured URLs, not the stock ports.
        std::string fix;
        for (const BackendResult& r : n.backends) {
            fix += fix.empty() ? "start " : " or ";
            fix +=
                (r.id == "ollama" ? "Ollama (ollama serve) at " : "llama.cpp's llama-server at ") +
                r.url;
        }
        if (fix.empty()) {
            fix = "enable a backend in config.toml ([backends.ollama] or [backends.llamacpp])";
        }
        out.push_back({"backends", Level::fail, "none available", fix});
    }
    return any;
}

// False when no relay is configured: the node would run, but no job request could reach it.
bool report_relays(const NetworkProbe& n, std::vector<Check>& out) {
    for (const RelayResult& r : n.relays) {
        out.push_back({"relay", r.reachable ? Level::ok : Level::warn,
                       r.url + (r.reachable ? "" : " (unreachable: " + r.error + ")"),
                       r.reachable ? "" : "check the URL and the network; the node retries"});
    }
    if (n.relays.empty()) {
        out.push_back({"relays", Level::fail, "none configured: no job request can reach the node",
                       "add relays = [...] to config.toml"});
    }
    return !n.relays.empty();
}

void print_checks(CliContext& ctx, const std::vector<Check>& checks, bool ready, bool json) {
    if (json) {
        std::string s;
        proto::JsonWriter w(s);
        w.begin_object();
        w.key("checks");
        w.begin_array();
        for (const Check& c : checks) {
            w.begin_object();
            w.field("name", c.name);
            w.field("status", level_name(c.level));
            w.field("detail", c.detail);
            w.field("fix", c.fix);
            w.end_object();
        }
        w.end_array();
        w.key("ready");
        w.boolean(ready);
        w.end_object();
        std::fprintf(ctx.out, "%s\n", s.c_str());
        return;
    }
    std::fprintf(ctx.out, "Pylon Doctor\n============\n\n");
    for (const Check& c : checks) {
        std::fprintf(ctx.out, "%.*s %-15s %s%s%s\n", static_cast<int>(level_mark(c.level).size()),
                     level_mark(c.level).data(), c.name.c_str(), c.detail.c_str(),
                     c.fix.empty() || c.level == Level::ok ? "" : "\n                   fix: ",
                     c.fix.empty() || c.level == Level::ok ? "" : c.fix.c_str());
    }
    std::fprintf(ctx.out, "\n%s\n",
                 ready ? "\u2705 Ready to start earning!"
                       : "\u274c Not ready yet: fix the checks marked \u274c above.");
}

}  // namespace

int cmd_doctor(CliContext& ctx) {
    bool verbose = ctx.args.has("verbose");
    std::vector<Check> checks;
    bool home = check_home(ctx.home, checks);
    check_disk(ctx.home, checks);
    std::optional<Config> loaded = home ? check_config(ctx.home, checks) : std::nullopt;
    Config config = loaded.value_or(Config{});
    bool startable = loaded && check_start(config, checks);
    bool identity = home && check_identity(ctx.home, config, checks);
    if (home) {
        DaemonLink daemon = find_daemon(ctx.home);
        check_database(ctx.home, daemon.pid.state == PidState::running ? daemon.pid.pid : 0,
                       checks);
        check_daemon(ctx.home, daemon, checks);
        check_children(ctx.home, config, checks);
    }
    bool backend = false;
    bool relays = false;
    if (check_uring(checks, verbose) && loaded) {
        NetworkProbe probe = run_network_probe(config);
        backend = report_backends(probe, verbose, checks);
        relays = report_relays(probe, checks);
    } else if (home && !loaded) {
        // The defaults' backends and relays say nothing of the node this config would run.
        checks.push_back({"network", Level::info,
                          "backends and relays not probed: the config does not load", ""});
    }
    if (verbose) {
        checks.push_back({"settings", Level::info,
                          "min price " + std::to_string(config.min_price_msats) +
                              " msats, default model " + config.default_model + ", data dir " +
                              (config.data_dir ? *config.data_dir : ctx.home.dir()),
                          ""});
    }
    bool ready = identity && backend && relays && startable;
    print_checks(ctx, checks, ready, ctx.args.has("json"));
    for (const Check& c : checks) {
        if (c.level == Level::fail) {
            return exit_failure;
        }
    }
    return exit_ok;
}

}  // namespace pylon::engine
