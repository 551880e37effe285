#include "tools/fake_http/fake_config.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tools/fake_http/fake_assert.hpp"

namespace pylon::fake {
namespace {

constexpr std::int64_t delay_ms_max = 3600 * 1000;
constexpr std::int64_t tokens_max = 1'000'000;
constexpr std::int64_t slots_max = 1024;  // pylon-bench runs up to 1,024 concurrent streams

struct FaultName {
    const char* name;
    Fault fault;
};
constexpr FaultName fault_names[] = {
    {"none", Fault::none},
    {"model-404", Fault::model_404},
    {"busy-503", Fault::busy_503},
    {"error-mid-stream", Fault::error_mid_stream},
    {"reset-mid-stream", Fault::reset_mid_stream},
    {"hang", Fault::hang},
};

}  // namespace

bool parse_int(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t* out) {
    std::string copy(s);
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(copy.c_str(), &end, 10);
    if (copy.empty() || *end != '\0' || errno != 0 || v < lo || v > hi) {
        return false;
    }
    *out = v;
    return true;
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> out;
    while (!s.empty()) {
        std::size_t at = s.find(sep);
        std::string_view piece = s.substr(0, at);
        if (!piece.empty()) {
            out.emplace_back(piece);
        }
        s = at == std::string_view::npos ? std::string_view{} : s.substr(at + 1);
    }
    return out;
}

OptionParse parse_common_option(int argc, char** argv, int* i, FakeConfig* cfg,
                                std::string* error) {
    std::string_view name = argv[*i];
    struct IntOption {
        const char* name;
        int* target;
        std::int64_t lo;
        std::int64_t hi;
    };
    const IntOption ints[] = {
        {"--tokens", &cfg->tokens, 0, tokens_max},
        {"--token-delay-ms", &cfg->token_delay_ms, 0, delay_ms_max},
        {"--first-token-delay-ms", &cfg->first_token_delay_ms, 0, delay_ms_max},
        {"--slots", &cfg->slots, 1, slots_max},
        {"--max-runtime-s", &cfg->max_runtime_s, 0, 7 * 24 * 3600},
        {"--fault-after", &cfg->fault_after, 0, tokens_max},
    };
    bool known = name == "--port" || name == "--models" || name == "--text" || name == "--fault";
    for (const auto& o : ints) {
        known = known || name == o.name;
    }
    if (!known) {
        return OptionParse::unknown;
    }
    if (*i + 1 >= argc) {
        *error = std::string(name) + " needs a value";
        return OptionParse::error;
    }
    std::string_view value = argv[++*i];
    std::int64_t v = 0;
    if (name == "--port") {
        if (!parse_int(value, 0, 65535, &v)) {
            *error = "--port: expected 0..65535";
            return OptionParse::error;
        }
        cfg->port = static_cast<std::uint16_t>(v);
        return OptionParse::consumed;
    }
    if (name == "--models") {
        cfg->models = split(value, ',');
        return cfg->models.empty() ? (*error = "--models: empty list", OptionParse::error)
                                   : OptionParse::consumed;
    }
    if (name == "--text") {
        cfg->words = split(value, ' ');
        return cfg->words.empty() ? (*error = "--text: no words", OptionParse::error)
                                  : OptionParse::consumed;
    }
    if (name == "--fault") {
        for (const auto& f : fault_names) {
            if (value == f.name) {
                cfg->fault = f.fault;
                return OptionParse::consumed;
            }
        }
        *error = "--fault: unknown mode '" + std::string(value) + "'";
        return OptionParse::error;
    }
    for (const auto& o : ints) {
        if (name == o.name) {
            if (!parse_int(value, o.lo, o.hi, &v)) {
                *error = std::string(name) + ": expected " + std::to_string(o.lo) + ".." +
                         std::to_string(o.hi);
                return OptionParse::error;
            }
            *o.target = static_cast<int>(v);
            return OptionParse::consumed;
        }
    }
    FAKE_ASSERT(false);
    return OptionParse::error;
}

std::string common_options_help() {
    return R"(Common options:
  --port N                 TCP port on 127.0.0.1 (0 = pick a free one; default 0). The first
                           stdout line is "READY port=<n>".
  --tokens N               tokens per job when the request sets no lower limit (default 8)
  --token-delay-ms D       gap between consecutive tokens (default 10)
  --first-token-delay-ms D from the job getting a slot to its first token (default 0)
  --slots N                jobs generating at once, the rest wait in FIFO order (default 1)
  --max-runtime-s S        exit (code 0) after S seconds; 0 = never (default 900)
  --text "W1 W2 ..."       the word list tokens cycle through (default: alpha bravo charlie
                           delta echo foxtrot golf hotel india juliet kilo lima). Token k
                           (0-based) is words[k mod len], preceded by one space when k > 0:
                           N tokens spell the first N words of the cycled list joined by single
                           spaces, e.g. 3 tokens -> "alpha bravo charlie".
  --fault MODE             none | model-404 | busy-503 | error-mid-stream | reset-mid-stream |
                           hang. Faults apply to the generation endpoints only; probes (version,
                           tags, health, props, ...) answer normally.
  --fault-after K          tokens sent before error-mid-stream / reset-mid-stream (default 0)
  --help                   this text
Test-only endpoint (not part of the real server): GET /_fake/stats returns
  {"requests":n,"streams_started":n,"streams_completed":n,"streams_cancelled_by_client":n,
   "streams_failed":n,"rejected":n,"in_flight":n,"max_in_flight":n,"slots_busy":n,
   "max_slots_busy":n,"connections_accepted":n}
  requests counts every request except /_fake/stats; a stream is one generation job (streamed or
  not) that got a slot; in_flight counts admitted generation requests (waiting or generating);
  connections_accepted counts TCP connections (the stats request's own included). Connections
  are kept alive between requests (also after a completed stream) until the client closes them
  or they idle for 60 s, as Ollama and llama-server do.
The process exits 0 on SIGTERM or SIGINT.
)";
}

std::string token_piece(const FakeConfig& cfg, int k) {
    FAKE_ASSERT(k >= 0 && !cfg.words.empty());
    const std::string& word = cfg.words[static_cast<std::size_t>(k) % cfg.words.size()];
    return k == 0 ? word : " " + word;
}

std::string expected_text(const FakeConfig& cfg, int n) {
    std::string out;
    for (int k = 0; k < n; ++k) {
        out += token_piece(cfg, k);
    }
    return out;
}

JobPlan plan_job(const FakeConfig& cfg, std::int64_t limit) {
    if (limit >= 0 && limit <= cfg.tokens) {
        return {static_cast<int>(limit), true};
    }
    return {cfg.tokens, false};
}

int count_words(std::string_view text) {
    int n = 0;
    bool in_word = false;
    for (char c : text) {
        bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
        n += (!space && !in_word) ? 1 : 0;
        in_word = !space;
    }
    return n > 0 ? n : 1;
}

}  // namespace pylon::fake
