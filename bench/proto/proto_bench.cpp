// proto/ micro benchmarks. The question they answer: is our protocol overhead on an incoming job
// (parse the relay EVENT message, rebuild the canonical serialisation, SHA-256 it) small next to
// the cryptography every event needs anyway (BIP-340 sign + verify)? Goal: under 10%.
// Raw libsecp256k1 calls run in the same process on their own context for the comparison.
// Method and figures: bench/README.md.
#include <benchmark/benchmark.h>
#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include <array>
#include <string>

#include "proto/digest.hpp"
#include "proto/event.hpp"
#include "proto/job_request.hpp"
#include "proto/job_result.hpp"
#include "proto/relay_message.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr std::string_view k_provider_secret =
    "7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a";
constexpr std::string_view k_customer_secret =
    "c15d739894c81a2fcfd3a2df85a0d2c0dbc47a280d092799f144d73d7ae78add";

Keypair keys(std::string_view secret) {
    return Keypair::from_secret(SecretKey::from_hex(secret).value()).value();
}

// A typical text-generation request of about 1 KB on the wire: a ~560-byte prompt with quotes
// and a newline, the usual params, output, bid, two relays and a provider p tag.
const Event& typical_request() {
    static const Event e = [] {
        std::string prompt =
            "You are a helpful assistant. Summarise the following paragraph in two sentences, "
            "keeping the \"key facts\" and dropping the rest.\n";
        while (prompt.size() < 560) {
            prompt +=
                "Nostr relays forward signed events between clients; a data vending machine "
                "takes job requests and answers with results. ";
        }
        Event ev;
        ev.set_kind(5050);
        ev.set_created_at(1700000000);
        ev.add_tag({"i", prompt, "text"});
        ev.add_tag({"param", "model", "llama3.2:3b"});
        ev.add_tag({"param", "max_tokens", "512"});
        ev.add_tag({"param", "temperature", "0.7"});
        ev.add_tag({"output", "text/plain"});
        ev.add_tag({"bid", "10000"});
        ev.add_tag({"relays", "wss://relay.damus.io", "wss://nos.lol"});
        ev.add_tag({"p", keys(k_provider_secret).public_key().hex()});
        ev.sign(keys(k_customer_secret));
        return ev;
    }();
    return e;
}

std::string relay_event_message() {
    std::string wire;
    write_relay_event(wire, "pylon-jobs", typical_request());
    json_reserve_padding(wire);
    return wire;
}

void BM_CanonicalSerializeHash(benchmark::State& state) {
    const Event& e = typical_request();
    std::string scratch;
    for (auto _ : state) {
        EventId id = e.compute_id(scratch);
        benchmark::DoNotOptimize(id);
    }
    state.counters["canonical_bytes"] = static_cast<double>(scratch.size());
    state.counters["wire_bytes"] = static_cast<double>(e.json_bytes());
}
BENCHMARK(BM_CanonicalSerializeHash);

void BM_ParseRelayEventMessage(benchmark::State& state) {
    std::string wire = relay_event_message();
    JsonReader reader;
    RelayMessage m;
    for (auto _ : state) {
        Reject r = m.read_json(reader, PaddedJson::of(wire));
        benchmark::DoNotOptimize(r);
    }
    state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(wire.size()));
}
BENCHMARK(BM_ParseRelayEventMessage);

// Our whole per-event overhead before the signature check: parse + serialise + hash.
void BM_ParseSerializeHash(benchmark::State& state) {
    std::string wire = relay_event_message();
    JsonReader reader;
    RelayMessage m;
    std::string scratch;
    for (auto _ : state) {
        Reject r = m.read_json(reader, PaddedJson::of(wire));
        EventId id = m.event.compute_id(scratch);
        benchmark::DoNotOptimize(r);
        benchmark::DoNotOptimize(id);
    }
}
BENCHMARK(BM_ParseSerializeHash);

void BM_EventSign(benchmark::State& state) {
    Keypair kp = keys(k_provider_secret);
    Event e = typical_request();
    std::string scratch;
    for (auto _ : state) {
        e.sign(kp, csprng(), scratch);  // id + CSPRNG aux + BIP-340 sign
        benchmark::DoNotOptimize(e.sig());
    }
}
BENCHMARK(BM_EventSign);

void BM_EventVerify(benchmark::State& state) {
    const Event& e = typical_request();
    std::string scratch;
    for (auto _ : state) {
        Reject r = e.verify(scratch);  // id recomputed + pubkey parsed + BIP-340 verify
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_EventVerify);

void BM_Sha256Of1KB(benchmark::State& state) {
    std::string data(972, 'x');
    for (auto _ : state) {
        Sha256 h = sha256(data);
        benchmark::DoNotOptimize(h);
    }
}
BENCHMARK(BM_Sha256Of1KB);

void BM_CanonicalSerializeOnly(benchmark::State& state) {
    const Event& e = typical_request();
    std::string scratch;
    for (auto _ : state) {
        e.serialize_canonical(scratch);
        benchmark::DoNotOptimize(scratch.data());
    }
}
BENCHMARK(BM_CanonicalSerializeOnly);

// --- raw libsecp256k1 on its own context ---------------------------------------------------

struct Raw {
    secp256k1_context* ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    secp256k1_keypair keypair{};
    secp256k1_xonly_pubkey pubkey{};
    std::array<unsigned char, 32> xonly{};
    std::array<unsigned char, 32> msg{};
    std::array<unsigned char, 32> aux{};
    std::array<unsigned char, 64> sig{};

    Raw() {
        std::array<unsigned char, 32> seed{};
        seed[0] = 1;
        Keypair kp = keys(k_provider_secret);
        int ok = secp256k1_context_randomize(ctx, seed.data());
        ok &= secp256k1_keypair_create(ctx, &keypair, kp.secret().bytes().data());
        ok &= secp256k1_keypair_xonly_pub(ctx, &pubkey, nullptr, &keypair);
        ok &= secp256k1_xonly_pubkey_serialize(ctx, xonly.data(), &pubkey);
        msg = typical_request().id();
        ok &= secp256k1_schnorrsig_sign32(ctx, sig.data(), msg.data(), &keypair, aux.data());
        PYLON_ASSERT(ok == 1);
    }
    ~Raw() { secp256k1_context_destroy(ctx); }
};

void BM_RawSign32(benchmark::State& state) {
    Raw raw;
    for (auto _ : state) {
        int ok = secp256k1_schnorrsig_sign32(raw.ctx, raw.sig.data(), raw.msg.data(), &raw.keypair,
                                             raw.aux.data());
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_RawSign32);

void BM_RawVerify(benchmark::State& state) {
    Raw raw;
    for (auto _ : state) {
        int ok =
            secp256k1_schnorrsig_verify(raw.ctx, raw.sig.data(), raw.msg.data(), 32, &raw.pubkey);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_RawVerify);

void BM_RawXonlyParse(benchmark::State& state) {
    Raw raw;
    secp256k1_xonly_pubkey parsed;
    for (auto _ : state) {
        int ok = secp256k1_xonly_pubkey_parse(raw.ctx, &parsed, raw.xonly.data());
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_RawXonlyParse);

void BM_RawSign32AndVerify(benchmark::State& state) {
    Raw raw;
    for (auto _ : state) {
        int ok = secp256k1_schnorrsig_sign32(raw.ctx, raw.sig.data(), raw.msg.data(), &raw.keypair,
                                             raw.aux.data());
        ok &= secp256k1_schnorrsig_verify(raw.ctx, raw.sig.data(), raw.msg.data(), 32, &raw.pubkey);
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_RawSign32AndVerify);

// --- NIP-90 extras -------------------------------------------------------------------------

void BM_JobRequestRead(benchmark::State& state) {
    const Event& e = typical_request();
    JobRequest req;
    for (auto _ : state) {
        Reject r = req.read(e);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_JobRequestRead);

void BM_BuildSignedResult(benchmark::State& state) {
    JobRequest req;
    (void)req.read(typical_request());
    Keypair kp = keys(k_provider_secret);
    std::string answer(1500, 'a');
    ResultSpec spec;
    spec.content = answer;
    Event out;
    for (auto _ : state) {
        Reject r = build_result(req, "wss://nos.lol", spec, 1700000100, kp, csprng(), out);
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_BuildSignedResult);

}  // namespace
}  // namespace pylon::proto

BENCHMARK_MAIN();
