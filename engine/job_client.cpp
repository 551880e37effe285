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
    unsigned ready = 0;                  // relays subscribed (or failed)
    unsigned oks = 0;                    // OKs for the request (either way)
    std::vector<std::string> connected;  // relays whose connection opened
    std::set<std::string> answered;      // relays that sent an OK for the request
    std::int64_t feedback_at = -1;       // created_at of the feedback in last_feedback
    int feedback_rank = -1;              // its status_rank (a tie on created_at goes up)
    std::string feedback_from;           // its author (hex)
    bool publish_now = false;
    bool done = false;
    bool heard = false;  // a provider answered this request (feedback or result)
    std::unique_ptr<net::Resolver> resolver;
    std::shared_ptr<net::TlsContext> tls;
    reactor::CancelSource cancel;
};

bool from_wanted(const ClientRun& run, const proto::PublicKey& author) {
    return !run.watch->provider || *run.watch->provider == author;
}

// Orders a job's statuses within one second (relays replay stored events in any order).
int status_rank(proto::FeedbackStatus s) {
    switch (s) {
        case proto::FeedbackStatus::success:
        case proto::FeedbackStatus::error:
            return 2;
        case proto::FeedbackStatus::partial:
            return 1;
        default:
            return 0;
    }
}

// last_feedback: the newest status; once a result is in, only its author's.
void note_feedback(ClientRun& run, const proto::JobFeedback& f, const proto::Event& e,
                   const std::string& who) {
    if (run.out.status == "completed" && who != run.out.provider) {
        return;
    }
    int rank = status_rank(f.status);
    if (e.created_at() < run.feedback_at ||
        (e.created_at() == run.feedback_at && rank < run.feedback_rank)) {
        return;
    }
    run.feedback_at = e.created_at();
    run.feedback_rank = rank;
    run.feedback_from = who;
    run.out.last_feedback = f.status_text;
}

void on_feedback(ClientRun& run, const proto::Event& e) {
    proto::JobFeedback f;
    if (f.read(e) != proto::Reject::none || f.request_id != run.id ||
        !from_wanted(run, e.pubkey()) || e.verify() != proto::Reject::none) {
        return;
    }
    std::string who = e.pubkey().hex();
    run.heard = true;
    if (run.watcher != nullptr) {
        run.watcher->on_feedback(f, who);
    }
    note_feedback(run, f, e, who);
    if (f.status != proto::FeedbackStatus::error) {
        if (run.out.status == "pending" && f.status != proto::FeedbackStatus::success) {
            run.out.status = "processing";
        }
        return;
    }
    if (run.out.status == "completed") {
        return;
    }
    std::string reason = !f.extra_info.empty() ? f.extra_info : f.content;
    run.out.provider_errors.push_back(who + ": " + reason);
    if (!run.watch->provider) {
        return;  // open to every provider: one refusal is not the job's end, another may answer
    }
    run.out.status = "failed";
    run.out.error = reason;
    run.out.provider = who;
    run.done = run.watch->wait_result;
}

void on_result(ClientRun& run, const proto::Event& e) {
    proto::JobResult r;
    if (e.kind() != run.kind + proto::job_result_kind_offset || r.read(e) != proto::Reject::none ||
        r.request_id != run.id || !from_wanted(run, e.pubkey()) ||
        e.verify() != proto::Reject::none || run.out.status == "completed") {
        return;
    }
    run.heard = true;
    run.out.status = "completed";
    run.out.error.clear();
    if (run.feedback_from != e.pubkey().hex()) {
        run.out.last_feedback.clear();  // another provider's: not this result's
        run.feedback_at = -1;
        run.feedback_rank = -1;
    }
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
            if (m.ok_id == run.id && run.answered.insert(url).second) {
                run.oks++;
                bool accepted = m.ok_accepted || m.prefix == proto::MachinePrefix::duplicate;
                run.out.relays_accepted += accepted ? 1 : 0;
                if (!accepted) {
                    run.out.relay_errors.push_back(url + ": refused: " + m.text);
                }
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
    run->connected.push_back(url);
    proto::JsonReader reader;
    proto::RelayMessage m;
    bool eose = false;
    bool counted = false;
    bool sent = false;
    Status st = co_await ws.value()->send_text(run->req_frame);
    std::int64_t eose_deadline = reactor::monotonic_ms() + job_client_eose_timeout_ms;
    // Reads until run_main cancels: after the result it still wants the `success` feedback.
    while (st.ok() && !run->cancel.cancelled()) {
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

// A request that every reachable relay has answered, none accepting: nothing will come.
bool nobody_took_it(const ClientRun& run) {
    return !run.event_frame.empty() && run.oks >= run.connected.size() &&
           run.out.relays_accepted == 0;
}

// The outcome once the waits are over: unpublished, or failed with the providers' errors. A
// provider's answer to this very request proves a relay took it even without an OK: the OK may
// come after the answers, or never (a relay that stopped answering OKs), and a relay that holds
// this event from an identical earlier submission (same key, text and second) replays the
// answers before the OK.
void conclude(ClientRun& run) {
    if (!run.event_frame.empty() && run.out.relays_accepted == 0 && !run.heard) {
        for (const std::string& url : run.connected) {
            if (run.answered.count(url) == 0) {
                run.out.relay_errors.push_back(url + ": sent no OK for the request");
                if (run.watcher != nullptr) {
                    run.watcher->on_relay_error(url, "sent no OK for the request");
                }
            }
        }
        run.out.status = "failed";
        run.out.error = "published to no relay";
        for (std::size_t i = 0; i < run.out.relay_errors.size(); i++) {
            run.out.error += (i == 0 ? " (" : "; ") + run.out.relay_errors[i];
        }
        run.out.error += run.out.relay_errors.empty() ? "" : ")";
        run.out.timed_out = false;
        return;
    }
    run.out.published = !run.event_frame.empty();
    bool answered = run.out.status == "completed" || run.out.status == "failed";
    if (!answered && !run.out.provider_errors.empty()) {
        run.out.status = "failed";
        run.out.error.clear();
        for (const std::string& e : run.out.provider_errors) {
            run.out.error += (run.out.error.empty() ? "" : "; ") + e;
        }
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
    if (!run->event_frame.empty() && run->connected.empty()) {
        // No relay reachable: nothing to wait for (the reasons are in relay_errors).
    } else if (run->event_frame.empty() || run->watch->wait_result) {
        co_await wait_until([run]() { return run->done || nobody_took_it(*run); }, deadline);
        run->out.timed_out = !run->done && !run->event_frame.empty();
        if (run->out.status == "completed") {
            co_await wait_until([run]() { return run->out.last_feedback == "success"; },
                                reactor::monotonic_ms() + job_client_result_linger_ms);
        }
    } else {
        co_await wait_until([run]() { return run->oks >= run->connected.size(); },
                            reactor::monotonic_ms() + job_client_ok_wait_ms);
    }
    conclude(*run);
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
