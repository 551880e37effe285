// FakeConfig: the command-line options every fake backend shares (port, models, token count and
// timing, slots, bounded runtime, the deterministic word list, fault injection) and their parser.
// Each tool parses its own extra options first and hands the rest to parse_common_option.
// Also the deterministic text: token k (0-based) is words[k % words.size()], preceded by one
// space unless k == 0, so N tokens spell the first N words of the cycled list joined by spaces.
// Plain values; read-only once the server runs (shared by all connection threads).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::fake {

enum class Fault : std::uint8_t {
    none,
    model_404,         // every model is unknown (generation endpoints answer 404)
    busy_503,          // every generation request gets 503
    error_mid_stream,  // after fault_after tokens: an error line/event, then the stream ends
    reset_mid_stream,  // after fault_after tokens: the connection is reset (RST)
    hang,              // generation requests are read and never answered
};

struct FakeConfig {
    std::uint16_t port = 0;
    std::vector<std::string> models;
    int tokens = 8;                // tokens per job when the request sets no lower limit
    int token_delay_ms = 10;       // gap between consecutive tokens
    int first_token_delay_ms = 0;  // from the job getting a slot to its first token
    int slots = 1;                 // jobs generating at once; the rest wait in FIFO order
    int max_runtime_s = 900;       // the process exits after this long; 0 = no limit
    std::vector<std::string> words = {"alpha", "bravo", "charlie", "delta",  "echo", "foxtrot",
                                      "golf",  "hotel", "india",   "juliet", "kilo", "lima"};
    Fault fault = Fault::none;
    int fault_after = 0;  // tokens before error-mid-stream / reset-mid-stream
};

enum class OptionParse : std::uint8_t { consumed, unknown, error };

// Parses argv[*i] (and its value argv[*i + 1]) if it is a common option; advances *i past what
// it consumed. On error, *error says why.
OptionParse parse_common_option(int argc, char** argv, int* i, FakeConfig* cfg, std::string* error);

// The help text for the common options (for --help).
std::string common_options_help();

// Token k of a job (see the header comment) and the text of n tokens.
std::string token_piece(const FakeConfig& cfg, int k);
std::string expected_text(const FakeConfig& cfg, int n);

// How many tokens a job produces for a request limit (negative: none) and whether the limit
// ended it (Ollama "length", llama.cpp "limit") rather than the natural end ("stop"/"eos").
struct JobPlan {
    int tokens = 0;
    bool limit_hit = false;
};
JobPlan plan_job(const FakeConfig& cfg, std::int64_t limit);

// Whitespace-separated words in `text` (the fakes' stand-in for prompt token counts), min 1.
int count_words(std::string_view text);

// Helpers for tools' own option parsing.
bool parse_int(std::string_view s, std::int64_t lo, std::int64_t hi, std::int64_t* out);
std::vector<std::string> split(std::string_view s, char sep);

}  // namespace pylon::fake
