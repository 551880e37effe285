// fake_ollama: a protocol-faithful fake of Ollama's HTTP API for tests and benchmarks (loopback
// only). Thin: parses the command line and runs OllamaFake on the shared fake HTTP server.
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/fake_http/fake_runner.hpp"
#include "tools/fake_ollama/ollama_fake.hpp"

namespace {

constexpr const char* usage_head = R"(usage: fake_ollama [options]
A fake of Ollama's HTTP API (GET/HEAD /, /api/version, /api/tags, /api/ps; POST /api/generate
and /api/chat streamed as NDJSON) on 127.0.0.1, for tests. Not a real server.

Ollama options:
  --models a,b:tag         models it serves (default llama3.2); "name" means "name:latest"
  --num-parallel N         same as --slots (OLLAMA_NUM_PARALLEL)
  --max-queue Q            requests waiting beyond the slots (default 512); when more than
                           slots + Q are in flight, 503 {"error":"server busy, please try again.
                           maximum pending requests exceeded"}
Behaviour:
  Generation: options.num_predict limits tokens (done_reason "length" when it ends the job,
  "stop" otherwise); stream defaults to true; stream:false returns one JSON object; an empty
  prompt (or no messages) returns done_reason "load" ("unload" with keep_alive 0) at once; an
  unknown model is 404 {"error":"model 'x' not found"}. Stats fields appear on the final line
  only. Faults: model-404 and busy-503 as statuses; error-mid-stream sends
  {"error":"fake_ollama: injected error after K tokens"} as an NDJSON line (status 200, 500 when
  stream is false); reset-mid-stream resets the TCP connection after K tokens; hang reads the
  request and never answers. A model counts as loaded (/api/ps) after its first request.
  Unknown paths: 404 "404 page not found"; wrong method: 405.
)";

}  // namespace

int main(int argc, char** argv) {
    pylon::fake::OllamaConfig cfg;
    cfg.common.models = {"llama3.2"};
    auto extra = [&cfg](int argc_, char** argv_, int* i) {
        std::int64_t v = 0;
        std::string_view name = argv_[*i];
        if (*i + 1 >= argc_) {
            return false;
        }
        if (name == "--num-parallel" && pylon::fake::parse_int(argv_[*i + 1], 1, 64, &v)) {
            cfg.common.slots = static_cast<int>(v);
        } else if (name == "--max-queue" && pylon::fake::parse_int(argv_[*i + 1], 0, 1 << 20, &v)) {
            cfg.max_queue = v;
        } else {
            return false;
        }
        ++*i;
        return true;
    };
    switch (pylon::fake::parse_command_line("fake_ollama", usage_head, argc, argv, &cfg.common,
                                            extra)) {
        case pylon::fake::CommandLine::exit_ok:
            return 0;
        case pylon::fake::CommandLine::exit_usage:
            return 2;
        case pylon::fake::CommandLine::run:
            break;
    }
    pylon::fake::OllamaFake fake(cfg);
    return pylon::fake::run_fake_server(
        "fake_ollama", cfg.common,
        [&fake](const pylon::fake::Request& req, pylon::fake::Connection& conn) {
            fake.handle(req, conn);
        });
}
