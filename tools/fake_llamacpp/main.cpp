// fake_llamacpp: a protocol-faithful fake of llama.cpp's llama-server for tests (loopback only).
// Thin: parses the command line and runs LlamacppFake on the shared fake HTTP server.
#include <cstdint>
#include <string>
#include <string_view>

#include "tools/fake_http/fake_runner.hpp"
#include "tools/fake_llamacpp/llamacpp_fake.hpp"

namespace {

constexpr const char* usage_head = R"(usage: fake_llamacpp [options]
A fake of llama.cpp's llama-server (GET /health, /v1/models, /props, /slots, /metrics; POST
/completion, /v1/chat/completions, /v1/completions as SSE) on 127.0.0.1, for tests. Not a real
server.

llama-server options:
  --models ID              the model id shown by /v1/models (first of the list; default
                           fake-model)
  --model-path P           /props model_path (default /models/<ID>.gguf)
  --ctx-size N             total context; /props and /slots report N / slots (default 4096)
  --load-ms T              for T ms after start every endpoint (also /health) answers 503
                           {"error":{"code":503,"message":"Loading model",
                           "type":"unavailable_error"}}; test-only: POST /_fake/loaded
                           ends the load at once (not counted as a request)
  --exit-after-requests K  exit with --exit-code right after answering the K-th request
  --exit-code X            (default 1)
  --crash-after-requests K raise SIGSEGV on receiving the K-th request (no core file)
  --hang-health            /health reads the request and never answers
  --api-key KEY            require "Authorization: Bearer KEY" (not on /health): else 401
                           {"error":{"code":401,"message":"Invalid API Key",
                           "type":"authentication_error"}}
  --sse-ping-ms P          send ": ping" SSE comments when a stream was silent for P ms
  --metrics                serve /metrics (Prometheus text); without it 501 not_supported_error
  llama-server's own flags are accepted too, so the fake can stand in for its binary (e.g. as
  [backends.llamacpp] binary): --host H (127.0.0.1 or localhost only), -m/--model P (as
  --model-path), -c N (as --ctx-size; 0 = the default), -np/--parallel N (as --slots),
  -a/--alias ID (as --models).
Behaviour:
  Requests count toward K in the order they arrive; /_fake/stats does not count. /completion
  streams data: {"content":..,"stop":false,...} events and a final stop:true event with
  stop_type "limit" when n_predict ended the job, else "eos", and timings; no [DONE]. The
  OpenAI routes stream chunks (a role chunk first, then delta.content), a final chunk with
  finish_reason "length"/"stop", usage and timings, then data: [DONE]. stream defaults to false
  (one JSON object). Slots: N generate at once, later requests wait in FIFO order (never
  rejected; streamed requests get their headers at once). Faults: model-404 (404
  not_found_error), busy-503 (503 "Loading model"), error-mid-stream (an SSE event
  data: {"error":{"code":500,"message":"fake_llamacpp: injected error after K tokens",
  "type":"server_error"}}, no [DONE], then the connection closes; 500 when not streamed),
  reset-mid-stream (TCP reset after K tokens), hang (never answers). Unknown path or wrong
  method: 404 {"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}.
)";

// Parses one llama-server specific option at argv[*i]; false when it is not one (or invalid).
bool parse_llama_option(int argc, char** argv, int* i, pylon::fake::LlamacppConfig* cfg) {
    std::string name = argv[*i];
    if (name == "--hang-health") {
        cfg->hang_health = true;
        return true;
    }
    if (name == "--metrics") {
        cfg->metrics = true;
        return true;
    }
    if (*i + 1 >= argc) {
        return false;
    }
    std::string value = argv[*i + 1];
    std::int64_t v = 0;
    bool ok = true;
    if (name == "--host") {
        ok = value == "127.0.0.1" || value == "localhost";  // the fake binds loopback only
    } else if (name == "-m" || name == "--model" || name == "--model-path") {
        cfg->model_path = value;
    } else if (name == "-a" || name == "--alias") {
        cfg->common.models = {value};
    } else if (name == "-np" || name == "--parallel") {
        ok = pylon::fake::parse_int(value, 1, 1024, &v);
        cfg->common.slots = static_cast<int>(v);
    } else if (name == "-c") {
        ok = pylon::fake::parse_int(value, 0, 1 << 24, &v);
        if (v > 0) {
            cfg->ctx_size = static_cast<int>(v);
        }
    } else if (name == "--api-key") {
        cfg->api_key = value;
        ok = !value.empty();
    } else if (name == "--ctx-size") {
        ok = pylon::fake::parse_int(value, 1, 1 << 24, &v);
        cfg->ctx_size = static_cast<int>(v);
    } else if (name == "--load-ms") {
        ok = pylon::fake::parse_int(value, 0, 3600 * 1000, &v);
        cfg->load_ms = static_cast<int>(v);
    } else if (name == "--exit-after-requests") {
        ok = pylon::fake::parse_int(value, 1, 1 << 30, &v);
        cfg->exit_after_requests = v;
    } else if (name == "--exit-code") {
        ok = pylon::fake::parse_int(value, 0, 255, &v);
        cfg->exit_code = static_cast<int>(v);
    } else if (name == "--crash-after-requests") {
        ok = pylon::fake::parse_int(value, 1, 1 << 30, &v);
        cfg->crash_after_requests = v;
    } else if (name == "--sse-ping-ms") {
        ok = pylon::fake::parse_int(value, 0, 3600 * 1000, &v);
        cfg->sse_ping_ms = static_cast<int>(v);
    } else {
        return false;
    }
    ++*i;
    return ok;
}

}  // namespace

int main(int argc, char** argv) {
    pylon::fake::LlamacppConfig cfg;
    cfg.common.models = {"fake-model"};
    auto extra = [&cfg](int argc_, char** argv_, int* i) {
        return parse_llama_option(argc_, argv_, i, &cfg);
    };
    switch (pylon::fake::parse_command_line("fake_llamacpp", usage_head, argc, argv, &cfg.common,
                                            extra)) {
        case pylon::fake::CommandLine::exit_ok:
            return 0;
        case pylon::fake::CommandLine::exit_usage:
            return 2;
        case pylon::fake::CommandLine::run:
            break;
    }
    pylon::fake::LlamacppFake fake(cfg);
    return pylon::fake::run_fake_server(
        "fake_llamacpp", cfg.common,
        [&fake](const pylon::fake::Request& req, pylon::fake::Connection& conn) {
            fake.handle(req, conn);
        });
}
