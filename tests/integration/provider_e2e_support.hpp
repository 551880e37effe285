// Equipment for the provider's end-to-end tests: a real `pylon` daemon in a temp home (its
// config and identity written by the test; logs on stderr, which the test reads), the npm relay
// (tests/node/relay.mjs) and the naive raw relay (tests/node/raw_relay.mjs) as processes, the
// fake backends, the Node customer (tests/node/dvm_client.mjs, nostr-tools) run to completion
// with its JSON lines parsed, and the control socket for counters and jobs. Every process is a
// ChildProcess stopped by pid. Test thread only.
#pragma once

#include <gtest/gtest.h>
#include <simdjson.h>
#include <sys/stat.h>

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "engine/control_client.hpp"
#include "fake_backend_util.hpp"
#include "proto/control_protocol.hpp"
#include "proto/json_reader.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/support/test_env.hpp"

namespace pylon::test {

// NIP-06's test mnemonic: the provider's key.
inline constexpr const char* provider_mnemonic =
    "leader monkey parrot ring guide accident before fence cannon height naive bean";
inline constexpr const char* provider_pubkey =
    "17162c921dc4d2518f9a101db33695df1afb56ab82f5ff3e5da6eec3ca5cd917";
// Customers: secret keys 2, 3, 4, ... (hex).
inline std::string customer_secret(int n) {
    std::string hex(64, '0');
    hex[63] = static_cast<char>('0' + n);
    return hex;
}

inline constexpr int node_start_timeout_ms = 20000;

// A relay process: relay.mjs (real) or raw_relay.mjs (naive); `port` 0 = any.
struct RelayProcess {
    std::unique_ptr<ChildProcess> process;
    std::uint16_t port = 0;
    std::string url() const { return "ws://127.0.0.1:" + std::to_string(port); }
    // EVENTs a raw_relay.mjs accepted so far (its GET / counters).
    std::int64_t raw_events() const { return Json(fetch(port, "GET", "/").body).num("/events"); }
};

inline RelayProcess start_relay(const std::string& script = "relay.mjs", std::uint16_t port = 0,
                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--port", std::to_string(port), "--max-runtime-s", "300"};
    args.insert(args.end(), extra.begin(), extra.end());
    ChildSpec spec = node_script_spec(script, args);
    spec.term_grace_ms = 2000;
    auto ready = spawn_ready(std::move(spec), 20000);
    EXPECT_TRUE(ready.ok()) << (ready.ok() ? "" : ready.error().message());
    RelayProcess r;
    if (ready.ok()) {
        r.process = std::move(ready->process);
        r.port = ready->port;
    }
    return r;
}

struct NodeConfig {
    std::vector<std::string> relays;
    std::string ollama_url;    // "" = disabled
    std::string llamacpp_url;  // "" = disabled
    unsigned shards = 2;
    std::string extra;           // more TOML after the top-level keys (may open tables)
    std::string ollama_extra;    // keys for [backends.ollama]
    std::string llamacpp_extra;  // keys for [backends.llamacpp]
};

inline NodeConfig node_config(std::vector<std::string> relays, std::string ollama_url,
                              std::string llamacpp_url = "") {
    NodeConfig c;
    c.relays = std::move(relays);
    c.ollama_url = std::move(ollama_url);
    c.llamacpp_url = std::move(llamacpp_url);
    return c;
}

// A pylon daemon (foreground) in its own home; the home survives restarts of the process.
class PylonNode {
  public:
    explicit PylonNode(NodeConfig config) : config_(std::move(config)) {
        auto dir = TempDir::create("pylon-provider");
        EXPECT_TRUE(dir.ok());
        home_ = std::make_unique<TempDir>(std::move(dir.value()));
        write_files();
    }
    ~PylonNode() { stop(); }

    const std::string& home() const { return home_->path(); }
    // Writes config.toml anew (a reload or restart then reads it).
    void rewrite(NodeConfig config) {
        config_ = std::move(config);
        write_files();
    }

    // Starts the daemon and waits until every relay's subscription is live (or, with
    // `subscribed` false, until it logged that it started).
    void start(bool subscribed = true) {
        ChildSpec spec;
        spec.argv = {tool_path("pylon"),
                     "start",
                     "-f",
                     "--home",
                     home(),
                     "--shards",
                     std::to_string(config_.shards)};
        spec.term_grace_ms = 8000;
        auto child = ChildProcess::spawn(spec);
        ASSERT_TRUE(child.ok()) << child.error().message();
        process_ = std::move(child.value());
        starts_++;
        if (!subscribed) {
            ASSERT_TRUE(process_->wait_for_line(std::regex("started on"), node_start_timeout_ms,
                                                Stream::err))
                << process_->describe();
            return;
        }
        ASSERT_TRUE(wait_subscribed(0, node_start_timeout_ms)) << process_->describe();
    }
    // SIGTERM, wait; returns how it ended.
    ExitInfo stop(int grace_ms = 8000) {
        if (!process_) {
            return {};
        }
        ExitInfo e = process_->stop(grace_ms);
        stopped_log_ = process_->describe();
        process_.reset();
        return e;
    }
    // What the last stop()ped node wrote last (for failure messages after a stop).
    const std::string& stopped_log() const { return stopped_log_; }
    void kill9() {
        ASSERT_TRUE(process_);
        ASSERT_TRUE(process_->signal(SIGKILL).ok());
        process_->wait_exit(5000);
        process_.reset();
    }
    ChildProcess& process() { return *process_; }

    std::size_t subscribed_lines() {
        std::size_t n = 0;
        for (const std::string& line : process_->lines(Stream::err)) {
            if (line.find("subscribed (stored requests replayed)") != std::string::npos) {
                n++;
            }
        }
        return n;
    }
    // Waits until `before` + one "subscribed" line per relay have been logged.
    bool wait_subscribed(std::size_t before, int timeout_ms) {
        std::size_t want = before + config_.relays.size();
        return wait_until([&]() { return subscribed_lines() >= want; }, timeout_ms, 20);
    }

    // One control request; the reply's body JSON ("" on failure).
    std::string control(const std::string& request) {
        auto client = engine::ControlClient::connect(home() + "/control.sock");
        EXPECT_TRUE(client.ok()) << (client.ok() ? "" : client.error().message());
        if (!client.ok()) {
            return "";
        }
        auto reply = client->request(request);
        EXPECT_TRUE(reply.ok());
        return reply.ok() ? reply->body_json : "";
    }
    std::map<std::string, std::uint64_t> intake() {
        std::vector<proto::IntakeCounter> counters;
        proto::JsonReader reader;
        EXPECT_EQ(proto::decode_intake(control("\"Intake\""), reader, counters),
                  proto::Reject::none);
        std::map<std::string, std::uint64_t> out;
        for (const auto& c : counters) {
            out[c.reason] = c.count;
        }
        return out;
    }
    std::vector<proto::JobInfo> jobs(std::size_t limit = 50) {
        std::vector<proto::JobInfo> out;
        proto::JsonReader reader;
        EXPECT_EQ(proto::decode_jobs(
                      control("{\"Jobs\":{\"limit\":" + std::to_string(limit) + "}}"), reader, out),
                  proto::Reject::none);
        return out;
    }

  private:
    void write_files() {
        std::string toml = "require_payment = false\nrelays = [";
        for (std::size_t i = 0; i < config_.relays.size(); i++) {
            toml += (i ? ", \"" : "\"") + config_.relays[i] + "\"";
        }
        toml += "]\nbackend_preference = [";
        toml += config_.ollama_url.empty() ? "" : "\"ollama\"";
        toml += config_.ollama_url.empty() || config_.llamacpp_url.empty() ? "" : ", ";
        toml += config_.llamacpp_url.empty() ? "" : "\"llamacpp\"";
        toml += "]\n";
        toml += config_.extra + "\n";
        toml += "[backends.ollama]\nprobe_interval_ms = 1000\nenabled = " +
                std::string(config_.ollama_url.empty() ? "false" : "true") + "\n";
        if (!config_.ollama_url.empty()) {
            toml += "url = \"" + config_.ollama_url + "\"\n" + config_.ollama_extra + "\n";
        }
        toml += "[backends.llamacpp]\nprobe_interval_ms = 1000\nenabled = " +
                std::string(config_.llamacpp_url.empty() ? "false" : "true") + "\n";
        if (!config_.llamacpp_url.empty()) {
            toml += "url = \"" + config_.llamacpp_url + "\"\n" + config_.llamacpp_extra + "\n";
        }
        EXPECT_TRUE(write_file(home_->file("config.toml"), toml).ok());
        std::string mnemonic = home_->file("identity.mnemonic");
        EXPECT_TRUE(write_file(mnemonic, std::string(provider_mnemonic) + "\n").ok());
        ::chmod(mnemonic.c_str(), 0600);
    }

    NodeConfig config_;
    std::unique_ptr<TempDir> home_;
    std::unique_ptr<ChildProcess> process_;
    std::string stopped_log_;
    int starts_ = 0;
};

// One line of dvm_client.mjs's output.
struct ClientLine {
    std::string event;  // published, feedback, result, deletion, timeout, done
    std::string id;
    std::string request;
    std::string status;
    std::string extra;
    std::string content;
    std::string pubkey;
    bool ok = false;
    bool valid = false;
    std::string message;
    std::string tags_json;
    std::string cipher;  // result: "nip04" | "nip44" when it came encrypted
};

struct ClientRun {
    std::vector<ClientLine> lines;
    std::string raw;
    std::vector<ClientLine> of(const std::string& event) const {
        std::vector<ClientLine> out;
        for (const ClientLine& l : lines) {
            if (l.event == event) {
                out.push_back(l);
            }
        }
        return out;
    }
    std::vector<std::string> statuses() const {
        std::vector<std::string> out;
        for (const ClientLine& l : of("feedback")) {
            out.push_back(l.status);
        }
        return out;
    }
    bool has_status(const std::string& s) const {
        for (const std::string& x : statuses()) {
            if (x == s) {
                return true;
            }
        }
        return false;
    }
    const ClientLine* error() const {
        for (const ClientLine& l : lines) {
            if (l.event == "feedback" && l.status == "error") {
                return &l;
            }
        }
        return nullptr;
    }
};

inline ClientLine parse_client_line(simdjson::dom::parser& parser, const std::string& line) {
    ClientLine out;
    simdjson::dom::element e;
    if (parser.parse(line).get(e) != simdjson::SUCCESS) {
        return out;
    }
    auto text = [&](const char* key, std::string& to) {
        std::string_view v;
        if (e[key].get_string().get(v) == simdjson::SUCCESS) {
            to.assign(v);
        }
    };
    text("event", out.event);
    text("id", out.id);
    text("request", out.request);
    text("status", out.status);
    text("extra", out.extra);
    text("content", out.content);
    text("pubkey", out.pubkey);
    text("message", out.message);
    text("cipher", out.cipher);
    bool b = false;
    if (e["ok"].get_bool().get(b) == simdjson::SUCCESS) {
        out.ok = b;
    }
    if (e["valid"].get_bool().get(b) == simdjson::SUCCESS) {
        out.valid = b;
    }
    simdjson::dom::element tags;
    if (e["tags"].get(tags) == simdjson::SUCCESS) {
        out.tags_json = simdjson::minify(tags);
    }
    return out;
}

inline ClientRun parse_client_output(const std::vector<std::string>& lines) {
    ClientRun run;
    simdjson::dom::parser parser;
    for (const std::string& l : lines) {
        run.raw += l + "\n";
        run.lines.push_back(parse_client_line(parser, l));
    }
    return run;
}

// Starts dvm_client.mjs (the caller waits for it).
inline std::unique_ptr<ChildProcess> start_client(std::vector<std::string> args) {
    auto child = ChildProcess::spawn(node_script_spec("dvm_client.mjs", std::move(args)));
    EXPECT_TRUE(child.ok()) << (child.ok() ? "" : child.error().message());
    return child.ok() ? std::move(child.value()) : nullptr;
}

inline ClientRun finish_client(ChildProcess& child, int timeout_ms) {
    auto exit = child.wait_exit(timeout_ms);
    EXPECT_TRUE(exit.has_value() && exit->exited && exit->code == 0) << child.describe();
    return parse_client_output(child.lines(Stream::out));
}

// Runs dvm_client.mjs to completion.
inline ClientRun run_client(std::vector<std::string> args, int timeout_ms = 30000) {
    auto child = start_client(std::move(args));
    if (!child) {
        return {};
    }
    return finish_client(*child, timeout_ms);
}

inline std::vector<std::string> client_args(const std::vector<std::string>& relays, int customer,
                                            std::vector<std::string> more = {}) {
    std::vector<std::string> args;
    for (const std::string& r : relays) {
        args.push_back("--relay");
        args.push_back(r);
    }
    args.push_back("--secret");
    args.push_back(customer_secret(customer));
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

}  // namespace pylon::test
