#include "engine/relay_pool.hpp"

#include <algorithm>

#include "engine/intake.hpp"
#include "engine/job_runner.hpp"
#include "engine/relay_url.hpp"
#include "engine/status_board.hpp"
#include "engine/store.hpp"
#include "proto/client_message.hpp"
#include "proto/deletion.hpp"
#include "proto/filter.hpp"
#include "proto/handler_announcement.hpp"
#include "proto/hex.hpp"
#include "reactor/clock.hpp"
#include "reactor/log.hpp"
#include "reactor/ops.hpp"
#include "reactor/shard_set.hpp"

namespace pylon::engine {

using reactor::Message;
using reactor::Task;

namespace {

std::int64_t now_ms() {
    return reactor::monotonic_ms();
}

// A kind-5 deletion's cancellation, on its way to the job's owner shard.
struct CancelNote {
    proto::EventId request{};
    proto::PublicKey author;
};

// A deletion on its way to the shard its id hashes to.
struct DeletionNote {
    proto::Event event;
    proto::Deletion deletion;
};

// Tells a tracked publication's owner how one link did (from any shard).
void report_outcome(ProviderHub* hub, const PublicationRef& pub, bool delivered,
                    std::string reason) {
    if (pub->ticket == 0) {
        return;
    }
    std::uint64_t ticket = pub->ticket;
    if (delivered) {
        reactor::post(pub->owner_shard, Message([hub, ticket]() {
                          if (JobRunner* r = hub->here().runner) {
                              r->publish_outcome(ticket, true, {});
                          }
                      }));
        return;
    }
    auto why = std::make_unique<std::string>(std::move(reason));
    reactor::post(pub->owner_shard, Message([hub, ticket, why = std::move(why)]() mutable {
                      if (JobRunner* r = hub->here().runner) {
                          r->publish_outcome(ticket, false, std::move(*why));
                      }
                  }));
}

}  // namespace

RelayPool::RelayPool(ServiceContext& context, std::shared_ptr<ProviderHub> hub)
    : context_(context), hub_(std::move(hub)) {}

RelayPool::~RelayPool() = default;

Task<Status> RelayPool::start() {
    const Config& c = context_.config();
    unsigned here = reactor::Shard::current().id();
    urls_ = configured_relays(c);
    links_.resize(urls_.size());
    persisted_.assign(urls_.size(), 0);
    board_revision_.assign(urls_.size(), 0);
    watched_.assign(hub_->shard_count(), nullptr);
    for (std::size_t i = 0; i < urls_.size(); i++) {
        if (hub_->relay_owner(urls_[i]) != here) {
            continue;
        }
        auto cursor = co_await context_.store().read_call(&StoreDb::relay_cursor, urls_[i]);
        std::int64_t from = cursor.ok() && cursor->has_value() ? **cursor : 0;
        persisted_[i] = from;
        links_[i] = std::make_unique<RelayLink>(this, urls_[i], static_cast<int>(i), from);
    }
    if (here == 0) {
        announcer_ = std::make_unique<ResponseBuilder>(hub_->keys(), proto::csprng());
        if (urls_.empty()) {
            LOG_WARN("no relays configured: the node cannot receive jobs (set `relays`)");
        }
    }
    hub_->here().pool = this;
    for (auto& link : links_) {
        if (link) {
            link->start();
        }
    }
    upkeep_.spawn(upkeep_loop(this));
    if (here == 0 && c.provider.announce) {
        upkeep_.spawn(announce_loop(this));
    }
    co_return Ok{};
}

Task<void> RelayPool::stop() {
    // One turn of the shard's loop first. The job runners stop before the pool, and their last
    // words (a job's `error` at shutdown, sent once its row is written) are messages to the
    // links' shards, queued and not yet run: they must reach their links before the pool stops
    // taking them (seen: the `error` of a job ended by the stop was dropped, 1 run in 5).
    co_await reactor::sleep_ms(1);
    hub_->here().pool = nullptr;  // late messages now report "stopped" themselves
    set_subscribed(false);
    std::int64_t deadline = now_ms() + stop_flush_ms_max;
    auto flushing = [this, deadline]() {
        for (auto& l : links_) {
            if (l && l->flushing(deadline)) {
                return true;
            }
        }
        for (auto& [url, t] : temp_) {
            if (t.link->flushing(deadline)) {
                return true;
            }
        }
        return false;
    };
    while (flushing() && now_ms() < deadline) {
        co_await reactor::sleep_ms(50);
    }
    stop_.cancel();
    room_.set();
    co_await upkeep_.close();
    for (auto& l : links_) {
        if (l) {
            co_await l->stop();
        }
    }
    for (auto& [url, t] : temp_) {
        co_await t.link->stop();
    }
    co_await gate_.close();
    co_await persist_cursors();
    for (auto& l : links_) {
        if (l) {
            context_.board().update_relay(l->info());
        }
    }
    links_.clear();
    temp_.clear();
    spare_.clear();
    if (reactor::Shard::current().id() == 0) {
        proto::DomainEvent off;
        off.kind = proto::EventKind::went_offline;
        context_.emit(std::move(off));
    }
}

unsigned RelayPool::publish(PublicationRef pub) {
    ProviderHub* hub = hub_.get();
    unsigned targets = 0;
    for (std::size_t i = 0; i < urls_.size(); i++) {
        reactor::post(hub->relay_owner(urls_[i]), Message([hub, pub, i]() {
                          if (RelayPool* p = hub->here().pool) {
                              p->deliver(i, pub);
                          } else {
                              report_outcome(hub, pub, false, "relay links stopped");
                          }
                      }));
        targets++;
    }
    for (std::size_t j = 0; j < pub->extra_relays.size(); j++) {
        reactor::post(hub->relay_owner(pub->extra_relays[j]), Message([hub, pub, j]() {
                          if (RelayPool* p = hub->here().pool) {
                              p->deliver_extra(j, pub);
                          } else {
                              report_outcome(hub, pub, false, "relay links stopped");
                          }
                      }));
        targets++;
    }
    return targets;
}

void RelayPool::deliver(std::size_t index, const PublicationRef& pub) {
    if (index < links_.size() && links_[index]) {
        links_[index]->enqueue(pub);
    } else {
        report(pub, false, "no link for relay " + std::to_string(index));
    }
}

void RelayPool::deliver_extra(std::size_t extra, const PublicationRef& pub) {
    const std::string& url = pub->extra_relays[extra];
    auto it = temp_.find(url);
    if (it == temp_.end()) {
        std::size_t max = static_cast<std::size_t>(config().relay_pool.temp_relays_max);
        if (temp_.size() >= max) {
            report(pub, false, url + ": too many temporary relay connections");
            return;
        }
        // One customer's requests (any number of them, each naming slow relays) may not hold
        // every slot: the others' `relays` answers would all be refused.
        std::size_t share = std::max<std::size_t>(1, max / 4);
        auto mine = static_cast<std::size_t>(
            std::count_if(temp_.begin(), temp_.end(),
                          [&pub](const auto& kv) { return kv.second.opener == pub->customer; }));
        if (mine >= share) {
            report(pub, false,
                   url + ": this customer's share of temporary relay connections is in use");
            return;
        }
        auto link = std::make_unique<RelayLink>(this, url, -1, 0);
        link->start();
        it = temp_.emplace(url, TempLink{std::move(link), pub->customer}).first;
    }
    it->second.link->enqueue(pub);
}

void RelayPool::report(const PublicationRef& pub, bool delivered, std::string reason) {
    report_outcome(hub_.get(), pub, delivered, std::move(reason));
}

void RelayPool::set_subscribed(bool on) {
    if (subscribed_ == on) {
        return;
    }
    subscribed_ = on;
    for (auto& l : links_) {
        if (l) {
            l->set_subscribed(on && !paused_);
        }
    }
    if (on) {
        announce_now_.set();
    }
}

void RelayPool::apply_pause() {
    bool paused = hub_->publish_pressure();
    if (paused != paused_) {
        paused_ = paused;
        for (auto& l : links_) {
            if (l) {
                l->set_subscribed(subscribed_ && !paused_);
            }
        }
    }
    if (Intake* in = hub_->here().intake) {
        in->apply_pause(paused);
    }
}

void RelayPool::broadcast_pause(ProviderHub* hub) {
    for (unsigned t = 0; t < hub->shard_count(); t++) {
        reactor::post(t, Message([hub]() {
                          if (RelayPool* p = hub->here().pool) {
                              p->apply_pause();
                          }
                      }));
    }
}

void RelayPool::mark_cursor(ProviderHub* hub, const std::string& url, std::int64_t created_at,
                            bool held) {
    RelayPool* local = hub->here().pool;
    if (local == nullptr) {
        return;  // stopping
    }
    auto it = std::find(local->urls_.begin(), local->urls_.end(), url);
    if (it == local->urls_.end()) {
        return;  // not a configured relay (their lists are the same on every shard)
    }
    auto index = static_cast<std::size_t>(it - local->urls_.begin());
    unsigned owner = hub->relay_owner(url);
    if (owner == reactor::Shard::current().id()) {
        local->mark_link(index, created_at, held);
        return;
    }
    reactor::post(owner, Message([hub, index, created_at, held]() {
                      if (RelayPool* p = hub->here().pool) {
                          p->mark_link(index, created_at, held);
                      }
                  }));
}

void RelayPool::mark_link(std::size_t index, std::int64_t created_at, bool held) {
    RelayLink* link = index < links_.size() ? links_[index].get() : nullptr;
    if (link == nullptr) {
        return;
    }
    if (!held) {
        link->leave(created_at);
    } else if (hub_->publish_pressure()) {
        link->hold(created_at);
    }
}

std::string RelayPool::watch_frame(std::string_view subid, const std::vector<proto::EventId>& ids) {
    proto::Filter f;
    f.kinds = std::vector<std::uint32_t>{proto::deletion_kind};
    for (const proto::EventId& id : ids) {
        f.add_tag_value('e', proto::hex_encode(id));
    }
    proto::Filter filters[] = {std::move(f)};
    std::string out;
    proto::write_client_req(out, subid, filters);
    return out;
}

void RelayPool::set_watched(unsigned from, std::shared_ptr<const std::vector<proto::EventId>> ids) {
    if (from >= watched_.size()) {
        return;
    }
    watched_[from] = std::move(ids);
    auto all = std::make_shared<std::vector<proto::EventId>>();
    for (const auto& list : watched_) {
        if (list != nullptr) {
            all->insert(all->end(), list->begin(), list->end());
        }
    }
    std::sort(all->begin(), all->end());
    all->erase(std::unique(all->begin(), all->end()), all->end());
    if (watch_union_ != nullptr ? *watch_union_ == *all : all->empty()) {
        return;
    }
    watch_union_ = std::move(all);
    // The links' REQ changes when ids are added, or closes when none is left: an id whose job
    // ended stays in it until then (a REQ a second to each relay for every job that ends would
    // cost the relays more than the stale ids do).
    bool added =
        watch_links_ == nullptr || !std::includes(watch_links_->begin(), watch_links_->end(),
                                                  watch_union_->begin(), watch_union_->end());
    bool emptied = watch_union_->empty() && watch_links_ != nullptr && !watch_links_->empty();
    if (!added && !emptied) {
        return;
    }
    watch_links_ = watch_union_;
    for (auto& link : links_) {
        if (link != nullptr) {
            link->watch(watch_links_);
        }
    }
}

std::string RelayPool::subscription_frame(std::string_view subid, std::int64_t cursor) const {
    const Config& c = config();
    std::int64_t now = reactor::unix_ms() / 1000;
    std::int64_t oldest = now - c.provider.request_age_max_s;
    std::int64_t since = std::max(oldest, cursor - c.provider.since_margin_s);
    proto::Filter jobs;
    proto::Filter deletions;
    jobs.kinds.emplace();
    deletions.kinds = std::vector<std::uint32_t>{proto::deletion_kind};
    for (std::int64_t k : c.provider.job_kinds) {
        jobs.kinds->push_back(static_cast<std::uint32_t>(k));
        deletions.add_tag_value('k', std::to_string(k));
    }
    jobs.since = since;
    deletions.since = since;
    proto::Filter filters[] = {std::move(jobs), std::move(deletions)};
    std::string out;
    proto::write_client_req(out, subid, filters);
    return out;
}

}  // namespace pylon::engine

namespace pylon::engine {

bool RelayPool::on_event(RelayLink* link, proto::Event& event) {
    PYLON_ASSERT(!link->temporary());  // RelayLink::on_message drops those
    Intake* intake = hub_->here().intake;
    if (intake == nullptr) {
        return true;  // not open on this shard (starting or stopping)
    }
    if (event.kind() == proto::deletion_kind) {
        route_deletion(event);
        return true;
    }
    if (intake->prescreen(event) != IntakeReason::received) {
        return true;
    }
    std::int64_t created_at = std::min(event.created_at(), reactor::unix_ms() / 1000);
    if (hub_->publish_pressure() && !link->temporary()) {
        // Paused: held by the owner's intake while this link's share of its room lasts (a relay
        // may not store requests), else left unread (no dedup entry, no cursor advance) for the
        // REQ on resume.
        auto held_max = static_cast<std::size_t>(config().limits.held_requests_max);
        if (!link->pass_while_paused(std::max<std::size_t>(1, held_max / hub_->shard_count()))) {
            link->defer(created_at);
            intake->count(IntakeReason::deferred);
            return true;
        }
        link->hold(created_at);  // the owner's intake holds it until the resume
    }
    link->advance_cursor(created_at);
    unsigned here = reactor::Shard::current().id();
    unsigned owner = hub_->job_owner(event.id());
    if (owner == here) {
        intake->on_event(event, link->url());
        return true;
    }
    std::unique_ptr<proto::Event> box;
    if (!spare_.empty()) {
        box = std::move(spare_.back());
        spare_.pop_back();
    } else {
        box = std::make_unique<proto::Event>();
    }
    std::swap(*box, event);  // moves the parsed event out; `event` keeps the box's capacity
    transfers_++;
    ProviderHub* hub = hub_.get();
    auto index = static_cast<unsigned>(link->index());
    reactor::post(owner, Message([hub, box = std::move(box), here, index]() mutable {
                      Intake* in = hub->here().intake;
                      RelayPool* p = hub->here().pool;
                      if (in != nullptr && p != nullptr) {
                          in->on_event(*box, p->url_at(index));
                      }
                      reactor::post(here, Message([hub, box = std::move(box)]() mutable {
                                        if (RelayPool* origin = hub->here().pool) {
                                            origin->recycle(std::move(box));
                                        }
                                    }));
                  }));
    return transfers_ < transfers_in_flight_max;
}

Task<void> RelayPool::room() {
    while (transfers_ >= transfers_in_flight_max && !stop_.cancelled()) {
        room_.reset();
        (void)co_await room_.wait(stop_.token());
    }
}

void RelayPool::recycle(std::unique_ptr<proto::Event> box) {
    PYLON_ASSERT(transfers_ > 0);
    transfers_--;
    if (spare_.size() < spare_events_max) {
        spare_.push_back(std::move(box));
    }
    if (transfers_ < transfers_in_flight_max) {
        room_.set();
    }
}

// A kind-5 deletion naming a served kind, or with no `k` tag naming requests of the deletion
// watch: sent to the shard its own id hashes to (act_on_deletion), which verifies it once and
// sends it to the owner of each request it names (the owner cancels only a job of the same
// author).
void RelayPool::route_deletion(proto::Event& event) {
    proto::Deletion d;
    if (d.read(event) != proto::Reject::none) {
        return;
    }
    // No `k` tag: it may name one of our jobs (the owner checks the id and the author); one
    // naming only other kinds is not ours.
    bool ours = d.kinds.empty();
    for (std::uint32_t k : d.kinds) {
        for (std::int64_t served : config().provider.job_kinds) {
            ours = ours || static_cast<std::int64_t>(k) == served;
        }
    }
    if (d.kinds.empty()) {
        // Only the requests this node asked about (a relay that ignores filters would otherwise
        // make it verify every deletion it has).
        std::erase_if(d.event_ids, [this](const proto::EventId& id) {
            return watch_union_ == nullptr ||
                   !std::binary_search(watch_union_->begin(), watch_union_->end(), id);
        });
    }
    if (!ours || d.event_ids.empty()) {
        return;
    }
    unsigned owner = hub_->job_owner(event.id());
    if (owner == reactor::Shard::current().id()) {
        act_on_deletion(event, d);
        return;
    }
    // Rare (a customer's cancel), so copied rather than boxed like a request.
    auto note = std::make_unique<DeletionNote>(DeletionNote{event, std::move(d)});
    ProviderHub* hub = hub_.get();
    reactor::post(owner, Message([hub, note = std::move(note)]() {
                      if (RelayPool* p = hub->here().pool) {
                          p->act_on_deletion(note->event, note->deletion);
                      }
                  }));
}

void RelayPool::act_on_deletion(const proto::Event& event, const proto::Deletion& d) {
    Intake* intake = hub_->here().intake;
    if (intake == nullptr) {
        return;  // stopping
    }
    if (!deletions_seen_) {
        deletions_seen_ = std::make_unique<DedupCache>(deletions_seen_max);
    }
    if (deletions_seen_->contains(event.id())) {
        // A copy of one verified before (the other subscription, another relay, the relay's
        // stored copy sent again when the watch grew): if its id is right it is the same event,
        // so it is neither verified nor counted again, but its ids are acted on: a deletion
        // without `k` keeps only the ids the watch held when that copy came, and the watch grows.
        std::string scratch;
        if (event.compute_id(scratch) != event.id()) {
            intake->count(IntakeReason::bad_id);
            return;
        }
    } else {
        // Remembered only once verified: a forged copy carrying a real deletion's id must not
        // shadow it.
        if (event.verify() != proto::Reject::none) {
            intake->count(IntakeReason::bad_signature);
            return;
        }
        deletions_seen_->insert(event.id());
        intake->count(IntakeReason::deletions);
    }
    ProviderHub* hub = hub_.get();
    for (const proto::EventId& id : d.event_ids) {
        auto note = std::make_unique<CancelNote>(CancelNote{id, d.author});
        reactor::post(hub->job_owner(id), Message([hub, note = std::move(note)]() {
                          JobRunner* r = hub->here().runner;
                          if (r != nullptr && r->cancel_job(note->request, note->author)) {
                              if (Intake* in = hub->here().intake) {
                                  in->count(IntakeReason::cancellations);
                              }
                          }
                      }));
    }
}

void RelayPool::link_changed(RelayLink* link, bool state_change) {
    if (state_change && !link->temporary()) {
        auto i = static_cast<std::size_t>(link->index());
        board_revision_[i] = link->revision();
        context_.board().update_relay(link->info());
    }
}

void RelayPool::link_connected(RelayLink* link, bool up, const std::string& reason) {
    if (link->temporary()) {
        return;
    }
    context_.emit(up ? proto::DomainEvent::relay_connected(link->url())
                     : proto::DomainEvent::relay_disconnected(link->url(), reason));
}

Task<void> RelayPool::persist_cursors() {
    for (std::size_t i = 0; i < links_.size(); i++) {
        // It may go back: a request held or deferred while paused holds it back until read.
        if (!links_[i] || links_[i]->cursor().durable() == persisted_[i]) {
            continue;
        }
        std::int64_t cursor = links_[i]->cursor().durable();
        Status st = co_await context_.store().call(&StoreDb::set_relay_cursor, urls_[i], cursor,
                                                   reactor::unix_ms());
        if (st.ok()) {
            persisted_[i] = cursor;
        }
    }
}

// A temporary link ends by itself once idle for temp_idle_ms (or after failing to connect).
void RelayPool::reap_temporary() {
    std::erase_if(temp_, [](const auto& kv) { return kv.second.link->finished(); });
}

// Counters to the board, cursors to the store, idle temporary links closed.
Task<void> RelayPool::upkeep_loop(RelayPool* self) {
    std::int64_t next_persist = now_ms() + cursor_persist_ms;
    for (;;) {
        bool slept = co_await reactor::sleep_ms(pool_status_refresh_ms, self->stop_.token());
        if (!slept) {
            break;
        }
        for (std::size_t i = 0; i < self->links_.size(); i++) {
            RelayLink* l = self->links_[i].get();
            if (l != nullptr && l->revision() != self->board_revision_[i]) {
                self->board_revision_[i] = l->revision();
                self->context_.board().update_relay(l->info());
            }
        }
        std::int64_t now = now_ms();
        self->reap_temporary();
        if (now >= next_persist) {
            next_persist = now + cursor_persist_ms;
            co_await self->persist_cursors();
        }
    }
}

// Shard 0: the NIP-89 handler announcement once intake is open, then every interval.
Task<void> RelayPool::announce_loop(RelayPool* self) {
    const Config& c = self->config();
    bool open = co_await self->announce_now_.wait(self->stop_.token());
    if (!open) {
        co_return;
    }
    ProviderHub& hub = *self->hub_;
    proto::HandlerAnnouncement a;
    a.d = proto::HandlerAnnouncement::stable_d(c.name, hub.pubkey());
    for (std::int64_t k : c.provider.job_kinds) {
        a.kinds.push_back(static_cast<std::uint32_t>(k));
    }
    a.metadata.name = c.name;
    a.metadata.about = c.description.value_or("");
    a.metadata.encryption_supported = true;
    // (An explicit bool, not `while (co_await ...)`: see JobRunner::sweep_loop.)
    for (;;) {
        proto::Event ev;
        a.build(reactor::unix_ms() / 1000, hub.keys(), proto::csprng(), ev);
        unsigned targets = self->publish(self->announcer_->frame(ev, now_ms()));
        // Queued only: each relay link logs the relay's OK or refusal (RelayLink::settle).
        LOG_INFO("NIP-89 announcement queued for %u relay(s) (kind 31990, d=%s, %zu kind(s))",
                 targets, a.d.c_str(), a.kinds.size());
        bool slept =
            co_await reactor::sleep_ms(c.provider.announce_interval_s * 1000, self->stop_.token());
        if (!slept) {
            break;
        }
    }
}

}  // namespace pylon::engine
