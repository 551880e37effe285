// net_parse_bench: parsing throughput of a streamed backend response, as the HTTP client sees it:
// the recorded body of a 256-token generation (data/ollama_generate_256.http: Ollama NDJSON;
// data/llamacpp_completion_256.http: llama-server SSE; both in their chunked framing exactly as
// tools/fake_ollama and tools/fake_llamacpp sent them) behind a response head, fed in pieces of
// --piece bytes (a receive's worth) through HttpResponseParser (head, chunked decoding) and then
// NdjsonSplitter or SseParser. Reports bytes/s (MB/s) and tokens/s (256 records per iteration).
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "net/http_parser.hpp"
#include "net/ndjson.hpp"
#include "net/sse.hpp"

namespace {

using namespace pylon::net;

constexpr int tokens_per_stream = 256;

std::string load(const char* name) {
    std::ifstream in(std::string(PYLON_SOURCE_DIR) + "/bench/net/data/" + name, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string body = ss.str();
    if (body.empty()) {
        std::fprintf(stderr, "missing bench/net/data/%s\n", name);
        std::abort();
    }
    return "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
           "Transfer-Encoding: chunked\r\n\r\n" +
           body;
}

// Feeds the response through the parser and `Splitter`, returning the record count.
template <typename OnBody>
void feed_response(const std::string& wire, std::size_t piece, OnBody on_body) {
    HttpResponseParser parser;
    for (std::size_t off = 0; off < wire.size(); off += piece) {
        std::span<const std::uint8_t> part(reinterpret_cast<const std::uint8_t*>(wire.data()) + off,
                                           std::min(piece, wire.size() - off));
        while (!part.empty()) {
            HttpStep s = parser.step(part);
            part = part.subspan(s.consumed);
            if (s.event == HttpEvent::body) {
                on_body(s.body);
            } else if (s.event == HttpEvent::error) {
                std::abort();
            } else if (s.event == HttpEvent::done) {
                return;
            }
        }
    }
}

void BM_OllamaNdjson(benchmark::State& state) {
    const std::string wire = load("ollama_generate_256.http");
    std::size_t piece = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        NdjsonSplitter split;
        int records = 0;
        feed_response(wire, piece, [&](std::span<const std::uint8_t> body) {
            split.feed(body);
            for (auto line = split.next(); line.ok() && *line; line = split.next()) {
                benchmark::DoNotOptimize((*line)->data());
                records++;
            }
        });
        if (records != tokens_per_stream + 1) {
            state.SkipWithError("wrong record count");
            break;
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
    state.counters["tokens/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * tokens_per_stream), benchmark::Counter::kIsRate);
}

void BM_LlamaCppSse(benchmark::State& state) {
    const std::string wire = load("llamacpp_completion_256.http");
    std::size_t piece = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        SseParser sse;
        int events = 0;
        feed_response(wire, piece, [&](std::span<const std::uint8_t> body) {
            sse.feed(body);
            for (auto ev = sse.next(); ev.ok() && *ev; ev = sse.next()) {
                benchmark::DoNotOptimize((*ev)->data.data());
                events++;
            }
        });
        if (events != tokens_per_stream + 1) {
            state.SkipWithError("wrong event count");
            break;
        }
    }
    state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(wire.size()));
    state.counters["tokens/s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * tokens_per_stream), benchmark::Counter::kIsRate);
}

// 80: one token chunk per receive (a live stream); 4096: a backlog drained a buffer at a time.
BENCHMARK(BM_OllamaNdjson)->Arg(80)->Arg(4096);
BENCHMARK(BM_LlamaCppSse)->Arg(80)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
