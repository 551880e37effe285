#include "tools/pylon_bench/load_gen.hpp"

#include <time.h>

#include <cstring>

#include "proto/keys.hpp"
#include "proto/random_source.hpp"
#include "reactor/assert.hpp"
#include "reactor/clock.hpp"

namespace pylon::bench {
namespace {

double thread_cpu_us() {
    timespec ts{};
    ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

Result<proto::Keypair> customer_key(unsigned n) {
    std::array<std::uint8_t, 32> secret{};
    secret[0] = 0x42;  // fixed, distinct, valid scalars: 0x42 00.. (n+1)
    secret[28] = static_cast<std::uint8_t>((n + 1) >> 24);
    secret[29] = static_cast<std::uint8_t>((n + 1) >> 16);
    secret[30] = static_cast<std::uint8_t>((n + 1) >> 8);
    secret[31] = static_cast<std::uint8_t>(n + 1);
    auto sk = proto::SecretKey::from_bytes(secret);
    if (!sk.ok()) {
        return sk.error();
    }
    return proto::Keypair::from_secret(sk.value());
}

std::string prompt_text(std::size_t k, std::size_t bytes) {
    std::string p = "bench request " + std::to_string(k) + ": say something";
    while (p.size() < bytes) {
        p += " and more";
    }
    return p;
}

}  // namespace

std::size_t EventIdHash::operator()(const proto::EventId& id) const noexcept {
    std::size_t h = 0;
    std::memcpy(&h, id.data(), sizeof h);  // ids are SHA-256 outputs: any 8 bytes hash well
    return h;
}

Result<LoadGen> LoadGen::build(const LoadOptions& options) {
    if (options.requests == 0 || options.requests > load_requests_max) {
        return Error(Errc::invalid_input,
                     "requests must be 1.." + std::to_string(load_requests_max));
    }
    if (options.customers == 0 || options.customers > load_customers_max) {
        return Error(Errc::invalid_input,
                     "customers must be 1.." + std::to_string(load_customers_max));
    }
    std::vector<proto::Keypair> keys;
    for (unsigned c = 0; c < options.customers; c++) {
        auto kp = customer_key(c);
        if (!kp.ok()) {
            return kp.error();
        }
        keys.push_back(kp.value());
    }
    std::int64_t created = options.created_at != 0 ? options.created_at : reactor::unix_ms() / 1000;
    LoadGen gen;
    gen.json_.reserve(options.requests);
    gen.ids_.reserve(options.requests);
    gen.index_.reserve(options.requests);
    proto::Event ev;
    std::string scratch;
    std::int64_t t0 = reactor::monotonic_us();
    for (std::size_t k = 0; k < options.requests; k++) {
        ev.clear();
        ev.set_kind(5050);
        ev.set_created_at(created);
        ev.add_tag({"i", prompt_text(k, options.prompt_bytes), "text"});
        ev.add_tag({"output", "text/plain"});
        ev.sign(keys[k % keys.size()], proto::csprng(), scratch);
        gen.json_.push_back(ev.to_json());
        gen.ids_.push_back(ev.id());
        gen.index_.emplace(ev.id(), k);
    }
    gen.sign_seconds_ = static_cast<double>(reactor::monotonic_us() - t0) / 1e6;
    PYLON_ASSERT(gen.index_.size() == options.requests);
    return gen;
}

std::int64_t LoadGen::find(const proto::EventId& id) const noexcept {
    auto it = index_.find(id);
    return it == index_.end() ? -1 : static_cast<std::int64_t>(it->second);
}

Result<CryptoCost> crypto_cost(unsigned rounds) {
    PYLON_ASSERT(rounds > 0);
    auto kp = customer_key(load_customers_max + 7);
    if (!kp.ok()) {
        return kp.error();
    }
    std::array<std::uint8_t, 32> msg{};
    msg[0] = 1;
    double sign_us = 0;
    double verify_us = 0;
    unsigned bad = 0;
    for (unsigned r = 0; r < rounds; r++) {
        msg[1] = static_cast<std::uint8_t>(r);
        double t0 = thread_cpu_us();
        proto::SignatureBytes s1 = kp->sign32(msg, proto::csprng());
        proto::SignatureBytes s2 = kp->sign32(msg, proto::csprng());
        double t1 = thread_cpu_us();
        bool ok = proto::schnorr_verify(kp->public_key(), msg, s1);
        double t2 = thread_cpu_us();
        bad += (ok && s1 != s2) ? 0U : 1U;  // fresh aux randomness: two different signatures
        sign_us += (t1 - t0) / 2;
        verify_us += t2 - t1;
    }
    if (bad != 0) {
        return Error(Errc::internal, "crypto probe: a signature did not verify");
    }
    CryptoCost c;
    c.sign_us = sign_us / rounds;
    c.verify_us = verify_us / rounds;
    c.job_us = 2 * c.sign_us + c.verify_us;
    return c;
}

}  // namespace pylon::bench
