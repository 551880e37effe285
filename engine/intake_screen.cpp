#include "engine/intake_screen.hpp"

#include <algorithm>

#include "engine/relay_url.hpp"
#include "engine/store_db.hpp"
#include "proto/hex.hpp"
#include "proto/received_limits.hpp"
#include "proto/text_gen_params.hpp"
#include "reactor/assert.hpp"

namespace pylon::engine {

namespace {

Screened drop(IntakeReason reason) {
    Screened s;
    s.verdict = Screened::Verdict::drop;
    s.reason = reason;
    return s;
}

Screened refuse(IntakeReason reason, std::string message, std::unique_ptr<Job> job) {
    Screened s;
    s.verdict = Screened::Verdict::refuse;
    s.reason = reason;
    s.message = std::move(message);
    s.job = std::move(job);
    return s;
}

bool decryption_failure(proto::Reject r) {
    switch (r) {
        case proto::Reject::bad_base64:
        case proto::Reject::bad_payload_length:
        case proto::Reject::unknown_version:
        case proto::Reject::bad_mac:
        case proto::Reject::bad_padding:
        case proto::Reject::bad_key:
        case proto::Reject::json_syntax:
        case proto::Reject::wrong_type:
            return true;
        default:
            return false;
    }
}

}  // namespace

IntakePolicy IntakePolicy::from(const Config& config, unsigned shard_count) {
    PYLON_ASSERT(shard_count > 0);
    IntakePolicy p;
    for (std::int64_t k : config.provider.job_kinds) {
        p.kinds.push_back(static_cast<std::uint32_t>(k));
    }
    const ProviderConfig& pc = config.provider;
    p.age_max_s = pc.request_age_max_s;
    p.future_max_s = pc.request_future_max_s;
    p.prompt_bytes_max = static_cast<std::size_t>(pc.prompt_bytes_max);
    p.max_tokens_default = static_cast<std::uint32_t>(pc.max_tokens_default);
    p.max_tokens_max = static_cast<std::uint32_t>(pc.max_tokens_max);
    p.min_price_msats = static_cast<std::uint64_t>(config.min_price_msats);
    p.require_payment = config.require_payment;
    p.default_model = config.default_model;
    p.reply_relays_max = static_cast<std::size_t>(config.limits.reply_relays_max);
    p.reply_relays_private = config.relay_pool.reply_relays_private;
    p.own_relays = configured_relays(config);
    double n = static_cast<double>(shard_count);
    double ppm = static_cast<double>(config.limits.pubkey_requests_per_minute);
    double rps = static_cast<double>(config.limits.requests_per_second);
    p.per_pubkey = RateLimit{ppm / 60.0, std::max(1.0, ppm)};
    p.global = RateLimit{rps / n, std::max(1.0, rps / n)};
    return p;
}

bool IntakePolicy::serves(std::uint32_t kind) const noexcept {
    return std::find(kinds.begin(), kinds.end(), kind) != kinds.end();
}

IntakeScreen::IntakeScreen(const proto::Keypair& keys, const reactor::Clock& clock,
                           IntakePolicy policy, std::size_t dedup_entries_max)
    : keys_(keys),
      clock_(clock),
      policy_(std::move(policy)),
      dedup_(dedup_entries_max),
      limiter_(policy_.per_pubkey, policy_.global),
      reader_(proto::received_limits()) {}

void IntakeScreen::set_policy(IntakePolicy policy) {
    policy_ = std::move(policy);
    limiter_.reconfigure(policy_.per_pubkey, policy_.global);
}

IntakeReason IntakeScreen::prescreen(const proto::Event& event) const noexcept {
    if (!policy_.serves(event.kind())) {
        return IntakeReason::wrong_kind;
    }
    std::int64_t now = clock_.unix_s();
    if (event.created_at() < now - policy_.age_max_s) {
        return IntakeReason::stale;
    }
    if (event.created_at() > now + policy_.future_max_s) {
        return IntakeReason::future;
    }
    bool named = false;
    bool us = false;
    for (std::size_t i = 0; i < event.tag_count() && !us; i++) {
        proto::TagView t = event.tag(i);
        if (t.name() == "p") {
            named = true;
            proto::PublicKey pk;
            us = pk.set_hex(t.value()) && pk == keys_.public_key();
        } else if (t.name() == "encrypted") {
            named = true;  // an encrypted request must name us to be readable
        }
    }
    return named && !us ? IntakeReason::not_for_us : IntakeReason::received;
}

bool IntakeScreen::take_pubkey_token(const RateLimiter::Key& customer) {
    return limiter_.admit_key(customer, clock_.now_ms()) == RateLimiter::Verdict::admit;
}

Screened IntakeScreen::screen(const proto::Event& event, std::string_view relay_url,
                              const BackendDirectory* directory, bool memory_ok, bool pubkey_here) {
    const proto::EventId& id = event.id();
    if (dedup_.contains(id)) {
        return drop(IntakeReason::duplicate);
    }
    proto::Reject v = event.verify(scratch_);
    if (v != proto::Reject::none) {
        return drop(v == proto::Reject::bad_event_id ? IntakeReason::bad_id
                                                     : IntakeReason::bad_signature);
    }
    dedup_.insert(id);
    RateLimiter::Verdict rate = pubkey_here
                                    ? limiter_.admit(event.pubkey().bytes(), clock_.now_ms())
                                    : limiter_.admit_global(clock_.now_ms());
    if (rate == RateLimiter::Verdict::key_limited) {
        return drop(IntakeReason::rate_limited_pubkey);
    }
    Screened read = read_request(event, relay_url, scratch_);
    if (read.verdict != Screened::Verdict::accept) {
        return read;
    }
    Screened out = rate == RateLimiter::Verdict::global_limited
                       ? refuse(IntakeReason::refused_overloaded,
                                "overloaded: too many requests right now; try again later",
                                std::move(read.job))
                       : prepare(std::move(read.job), directory, memory_ok);
    out.pubkey_unchecked = !pubkey_here && out.verdict != Screened::Verdict::drop;
    return out;
}

// Reads the request (decrypting it when it is encrypted to us) into a new Job.
Screened IntakeScreen::read_request(const proto::Event& event, std::string_view relay_url,
                                    std::string_view canonical) {
    auto job = std::make_unique<Job>();
    proto::JobRequest& req = job->request;
    bool encrypted = event.find_tag("encrypted").has_value();
    proto::Reject r = encrypted ? req.read_encrypted(event, keys_.secret(), reader_)
                                : req.read(event, reader_.limits(), canonical);
    if (r != proto::Reject::none) {
        return drop(encrypted && decryption_failure(r) ? IntakeReason::undecryptable
                                                       : IntakeReason::malformed);
    }
    job->job_id = job_id_for_request(proto::hex_of(req.id).view());
    job->relay_url.assign(relay_url);
    job->reply_relays = reply_relays(req);
    if (req.first_text_input().empty() && !req.encrypted) {
        job->content_prompt.assign(event.content());  // Pylon's rule: no text input, the content
    }
    job->received_mono_ms = clock_.now_ms();
    job->received_unix_ms = clock_.unix_ms();
    Screened s;
    s.verdict = Screened::Verdict::accept;
    s.reason = IntakeReason::accepted;
    s.job = std::move(job);
    return s;
}

Screened IntakeScreen::prepare(std::unique_ptr<Job> job, const BackendDirectory* directory,
                               bool memory_ok) {
    PYLON_ASSERT(job != nullptr);
    const proto::JobRequest& req = job->request;
    if (!memory_ok) {
        return refuse(IntakeReason::refused_overloaded,
                      "overloaded: the node is short of memory; try again later", std::move(job));
    }
    proto::TextGenParams p;
    if (p.read(req) != proto::Reject::none) {
        return refuse(IntakeReason::refused_bad_param,
                      "bad param '" + p.bad_key() + "': malformed or out of range", std::move(job));
    }
    if (req.bad_bid) {
        return refuse(IntakeReason::refused_bad_bid,
                      "bad bid '" + *req.bad_bid + "': not a whole number of millisats",
                      std::move(job));
    }
    std::size_t prompt_bytes = job->prompt().size();
    if (prompt_bytes == 0) {
        return refuse(IntakeReason::refused_no_prompt,
                      "no prompt: send the text in an `i` tag of type text", std::move(job));
    }
    if (prompt_bytes > policy_.prompt_bytes_max) {
        return refuse(IntakeReason::refused_prompt_too_long,
                      "prompt too long: " + std::to_string(prompt_bytes) + " bytes (at most " +
                          std::to_string(policy_.prompt_bytes_max) + ")",
                      std::move(job));
    }
    std::uint32_t max_tokens = p.max_tokens.value_or(policy_.max_tokens_default);
    if (max_tokens > policy_.max_tokens_max) {
        return refuse(IntakeReason::refused_max_tokens,
                      "max_tokens " + std::to_string(max_tokens) + " is above this provider's " +
                          "limit of " + std::to_string(policy_.max_tokens_max),
                      std::move(job));
    }
    if (req.bid_msats && *req.bid_msats < policy_.min_price_msats) {
        return refuse(IntakeReason::refused_bid_below_price,
                      "bid below price: " + std::to_string(*req.bid_msats) + " msats offered, " +
                          std::to_string(policy_.min_price_msats) + " msats asked",
                      std::move(job));
    }
    ModelRoute route = directory != nullptr ? directory->route(p.model, policy_.default_model)
                                            : BackendDirectory{}.route(p.model, "");
    if (!route.ok) {
        return refuse(route.no_backend ? IntakeReason::refused_no_backend
                                       : IntakeReason::refused_unknown_model,
                      route.error, std::move(job));
    }
    job->backend = directory->backends[route.backend].kind;
    job->model = route.model;
    job->waits_for_load = route.waits;
    proto::GenerationOptions& g = job->params;  // model and prompt: Job::generation_params()
    g.max_tokens = max_tokens;
    g.temperature = p.temperature;
    g.top_p = p.top_p;
    g.top_k = p.top_k;
    if (p.seed) {
        g.seed = static_cast<std::int64_t>(*p.seed & 0x7fffffffffffffffULL);
    }
    g.frequency_penalty = p.frequency_penalty;
    g.stop = std::move(p.stop);
    job->price_msats = policy_.require_payment ? policy_.min_price_msats : 0;
    Screened s;
    s.verdict = Screened::Verdict::accept;
    s.reason = IntakeReason::accepted;
    s.job = std::move(job);
    return s;
}

Screened IntakeScreen::restore(const proto::Event& event, std::string_view relay_url,
                               const BackendDirectory* directory) {
    dedup_.insert(event.id());
    Screened read = read_request(event, relay_url, {});  // not verified here: no preimage
    if (read.verdict != Screened::Verdict::accept) {
        return read;
    }
    return prepare(std::move(read.job), directory, true);
}

std::vector<std::string> IntakeScreen::reply_relays(const proto::JobRequest& request) const {
    std::vector<std::string> out;
    for (const std::string& url : request.relays) {
        if (out.size() >= policy_.reply_relays_max) {
            break;
        }
        std::string n = normalize_relay_url(url);
        bool ours = std::find(policy_.own_relays.begin(), policy_.own_relays.end(), n) !=
                    policy_.own_relays.end();
        bool seen = std::find(out.begin(), out.end(), n) != out.end();
        if (ours || seen || (!policy_.reply_relays_private && relay_host_is_private(n))) {
            continue;
        }
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace pylon::engine
