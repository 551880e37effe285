#include "engine/job_client.hpp"

#include <set>

#include "net/resolver.hpp"
#include "net/tls.hpp"
#include "net/websocket.hpp"
#include "proto/client_message.hpp"
#include "proto/filter.hpp"
#include "proto/hex.hpp"
#include "proto/job_result.hpp"
#include "proto/relay_message.hpp"
#include "reactor/clock.hpp"
#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Task;

namespace {

constexpr std::int64_t poll_ms = 50;
constexpr std::int64_t read_tick_ms = 200;

// Everything one run shares between its relay tasks (one shard).
struct ClientRun {
    proto::EventId id{};
    std::string id_hex;
    std::uint32_t kind = 0;
    std::string req_frame;
    std::string event_frame;  // empty: look only
    const JobWatch* watch = nullptr;
    JobWatcher* watcher = nullptr;
    JobOutcome out;
    std::set<std::string> seen;
    unsigned ready = 0;  // relays subscribed (or failed)
    unsigned oks = 0;    // OKs for the request (either way)
    bool publish_now = false;
    bool done = false;
    std::unique_ptr<net::Resolver> resolver;
    std::shared_ptr<net::TlsContext> tls;
    reactor::CancelSource cancel;
};

bool from_wanted(const ClientRun& run, const proto::PublicKey& author) {
    return !run.watch->provider || *run.watch->provider == author;
}

void on_feedback(ClientRun& run, const proto::Event& e) {
    proto::JobFeedback f;
    if (f.read(e) != proto::Reject::none || f.request_id != run.id ||
        !from_wanted(run, e.pubkey())) {
        return;
    }
    std::string who = e.pubkey().hex();
    if (run.watcher != nullptr) {
        run.watcher->on_feedback(f, who);
    }
    run.out.last_feedback = f.status_text;
    if (f.status == proto::FeedbackStatus::error && run.out.status != "completed") {
        run.out.status = "failed";
        run.out.error = !f.extra_info.empty() ? f.extra_info : f.content;
        run.out.provider = who;
        run.done = run.watch->wait_result;
    } else if (run.out.status == "pending" || run.out.status == "processing") {
        if (f.status != proto::FeedbackStatus::success) {
            run.out.status = "processing";
        }
    }
}

void on_result(ClientRun& run, const proto::Event& e) {
    proto::JobResult r;
    if (e.kind() != run.kind + proto::job_result_kind_offset || r.read(e) != proto::Reject::none ||
        r.request_id != run.id || !from_wanted(run, e.pubkey()) ||
        e.verify() != proto::Reject::none || run.out.status == "completed") {
        return;
    }
    run.out.status = "completed";
    run.out.error.clear();
    run.out.result.assign(e.content());
    run.out.result_event_id = proto::hex_encode(e.id());
    run.out.provider = e.pubkey().hex();
    run.done = true;
}

void on_message(ClientRun& run, proto::RelayMessage& m, const std::string& url, bool& eose) {
    switch (m.type) {
        case proto::RelayMessageType::eose:
            eose = true;
            return;
        case proto::RelayMessageType::ok:
            if (m.ok_id == run.id) {
                run.oks++;
                bool accepted = m.ok_accepted || m.prefix == proto::MachinePrefix::duplicate;
                run.out.relays_accepted += accepted ? 1 : 0;
                if (run.watcher != nullptr) {
                    run.watcher->on_published(url, accepted, m.text);
                }
            }
            return;
        case proto::RelayMessageType::event: {
            std::string eid = proto::hex_encode(m.event.id());
            if (!run.seen.insert(eid).second) {
                return;  // the same event from another relay
            }
            if (m.event.kind() == proto::job_feedback_kind) {
                on_feedback(run, m.event);
            } else {
                on_result(run, m.event);
            }
            return;
        }
        default:
            return;
    }
}

Task<void> relay_task(ClientRun* run, std::string url) {
    net::WebSocketOptions o;
    o.connect_timeout_ms = job_client_connect_timeout_ms;
    o.handshake_timeout_ms = job_client_connect_timeout_ms;
    o.resolver = run->resolver.get();
    o.tls = run->tls;
    auto ws = co_await net::WebSocket::connect(url, o, run->cancel.token());
    if (!ws.ok()) {
        run->out.relay_errors.push_back(url + ": " + ws.error().message());
        if (run->watcher != nullptr) {
            run->watcher->on_relay_error(url, ws.error().message());
        }
        run->ready++;
        co_return;
    }
    run->out.relays_connected++;
    proto::JsonReader reader;
    proto::RelayMessage m;
    bool eose = false;
    bool counted = false;
    bool sent = false;
    Status st = co_await ws.value()->send_text(run->req_frame);
    std::int64_t eose_deadline = reactor::monotonic_ms() + job_client_eose_timeout_ms;
    while (st.ok() && !run->done && !run->cancel.cancelled()) {
        if (!counted && (eose || reactor::monotonic_ms() > eose_deadline)) {
            counted = true;
            run->ready++;
        }
        if (run->publish_now && !sent && !run->event_frame.empty()) {
            sent = true;
            st = co_await ws.value()->send_text(run->event_frame);
            continue;
        }
        auto msg = co_await ws.value()->next_message(read_tick_ms, run->cancel.token());
        if (!msg.ok()) {
            if (msg.error().code() == Errc::timeout) {
                continue;
            }
            break;
        }
        proto::PaddedJson json(msg->data.data(), msg->data.size(),
                               msg->data.size() + net::WebSocket::message_padding_bytes);
        if (m.read_json(reader, json) == proto::Reject::none) {
            on_message(*run, m, url, eose);
        }
    }
    if (!counted) {
        run->ready++;
    }
    co_await ws.value()->close();
}

// Waits (polling, bounded) until pred() or the deadline; the CLI's pace needs no more.
template <typename Pred>
Task<void> wait_until(Pred pred, std::int64_t deadline_ms) {
    while (!pred() && reactor::monotonic_ms() < deadline_ms) {
        co_await reactor::sleep_ms(poll_ms);
    }
}

Task<void> run_main(ClientRun* run) {
    reactor::Gate relays;
    for (const std::string& url : run->watch->relays) {
        relays.spawn(relay_task(run, url));
    }
    std::size_t n = run->watch->relays.size();
    std::int64_t start = reactor::monotonic_ms();
    co_await wait_until([run, n]() { return run->ready >= n; },
                        start + job_client_connect_timeout_ms + job_client_eose_timeout_ms);
    run->publish_now = true;
    std::int64_t deadline = reactor::monotonic_ms() + run->watch->timeout_ms;
    if (run->event_frame.empty() || run->watch->wait_result) {
        co_await wait_until([run]() { return run->done; }, deadline);
        run->out.timed_out = !run->done && !run->event_frame.empty();
    } else {
        unsigned connected = run->out.relays_connected;
        co_await wait_until([run, connected]() { return run->oks >= connected; },
                            reactor::monotonic_ms() + job_client_ok_wait_ms);
    }
    run->done = true;
    run->cancel.cancel();
    co_await relays.close();
    run->resolver->stop();
}

}  // namespace

proto::Event build_job_request(const JobSpec& spec, const proto::Keypair& keys,
                               std::int64_t created_at) {
    proto::Event e;
    e.set_kind(spec.kind);
    e.set_created_at(created_at);
    e.add_tag({"i", spec.prompt, "text"});
    if (!spec.model.empty()) {
        e.add_tag({"param", "model", spec.model});
    }
    for (const auto& [k, v] : spec.params) {
        e.add_tag({"param", k, v});
    }
    if (spec.bid_msats) {
        e.add_tag({"bid", std::to_string(*spec.bid_msats)});
    }
    if (!spec.relays_tag.empty()) {
        std::vector<std::string> relays = {"relays"};
        relays.insert(relays.end(), spec.relays_tag.begin(), spec.relays_tag.end());
        e.add_tag(std::span<const std::string>(relays));
    }
    if (spec.provider) {
        e.add_tag({"p", spec.provider->hex()});
    }
    e.add_tag({"alt", "NIP-90 job request (kind " + std::to_string(spec.kind) + ")"});
    e.sign(keys);
    return e;
}

Result<JobOutcome> run_job(const proto::EventId& id, std::uint32_t kind,
                           const proto::Event* request, const JobWatch& watch,
                           JobWatcher* watcher) {
    if (watch.relays.empty()) {
        return Error(Errc::invalid_input, "no relay to use (give --relay or set `relays`)");
    }
    auto tls = net::TlsContext::create(net::TlsContextOptions{});
    if (!tls.ok()) {
        return std::move(tls).error();
    }
    ClientRun run;
    run.id = id;
    run.id_hex = proto::hex_encode(id);
    run.kind = kind;
    run.watch = &watch;
    run.watcher = watcher;
    run.out.request_id = run.id_hex;
    run.tls = std::move(tls.value());
    run.resolver = std::make_unique<net::Resolver>();
    proto::Filter f;
    f.kinds =
        std::vector<std::uint32_t>{kind + proto::job_result_kind_offset, proto::job_feedback_kind};
    f.add_tag_value('e', run.id_hex);
    proto::Filter filters[] = {f};
    proto::write_client_req(run.req_frame, "pylon-job", filters);
    if (request != nullptr) {
        proto::write_client_event(run.event_frame, *request);
    }
    reactor::ShardSetOptions so;
    so.shard_count = 1;
    so.pin = false;
    reactor::ShardSet set(so);
    ClientRun* p = &run;
    Status st = set.run([p](reactor::Shard&) { return run_main(p); });
    if (!st.ok()) {
        return std::move(st).error();
    }
    return std::move(run.out);
}

}  // namespace pylon::engine
