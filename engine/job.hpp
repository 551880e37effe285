// Job: one accepted NIP-90 request on its owner shard, from intake to its terminal row. Intake
// fills it (the parsed request, where to answer, the backend and model chosen, the generation
// parameters); the JobRunner owns it while it waits for a slot, runs, publishes and records its
// end, then frees it. Everything a job needs after intake is copied in here, so it outlives the
// relay message it came from, and kept once: a deep queue holds thousands of Jobs, so the
// prompt stays in `request` (or `content_prompt`) and the request id in binary, and the
// backend's GenerationParams are put together only when the job's slot is taken. Owner shard
// only (its CancelSource belongs to that shard), with one exception: while Intake::admit waits
// for the job's pending row to commit, the store thread reads the job to build that row; the job
// is then reachable from nowhere else (it joins the runner's map only after the commit), and
// must stay so.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/backend.hpp"
#include "proto/generation.hpp"
#include "proto/job_request.hpp"
#include "reactor/cancel.hpp"

namespace pylon::engine {

// A job's result as signed and recorded before a restart (StoreDb::record_pending_result).
struct SignedResult {
    std::string event_id;  // 64 hex
    std::string frame;     // ["EVENT",{...}]
};

struct Job {
    proto::JobRequest request;  // owned strings; request_json for the result's `request` tag
    std::string job_id;         // "job_" + 16 hex (Pylon's form); the full id is request.id
    std::string relay_url;      // the relay it came from: the `e` tag's relay hint
    std::vector<std::string> reply_relays;  // its `relays` tag, beyond our own relays (bounded)
    std::string model;
    // The prompt when the request has no text input and its content is the prompt (Pylon's
    // rule, clear requests only); otherwise empty and the prompt is the first text input.
    std::string content_prompt;
    // Generation options (max_tokens, sampling, stop); generation_params() adds the model and
    // the prompt (not kept twice: a Job is 624 bytes, in mimalloc's 640-byte class, not 768).
    proto::GenerationOptions params;
    std::uint64_t price_msats = 0;
    std::int64_t received_mono_ms = 0;
    std::int64_t received_unix_ms = 0;
    BackendKind backend = BackendKind::ollama;
    bool rerun = false;  // started again after a restart
    // Accepted while its backend (a spawned llama-server) was loading its model (the runner
    // bounds the wait with [backends.llamacpp] job_wait_ms while the load lasts).
    bool waits_for_load = false;
    // Set on a rerun whose result was signed before the restart: that event is published again,
    // the job is not generated again (a pointer: a Job stays within 640 bytes, see above).
    std::unique_ptr<SignedResult> signed_result;
    // Its pending_results row (StoreDb::record_pending_result; 0: none), deleted with its end.
    std::int64_t pending_seq = 0;

    // Run state (JobRunner).
    reactor::CancelSource cancel;
    std::string cancel_reason;  // set before cancel.cancel()
    bool by_customer = false;   // a kind-5 deletion (the row becomes `cancelled`)
    enum class Phase : std::uint8_t { queued, running, delivering, ending };
    // Waiting for a slot, generating, publishing the result, recording its end (a cancel or
    // the stop no longer applies).
    Phase phase = Phase::queued;

    std::string_view prompt() const noexcept {
        std::string_view text = request.first_text_input();
        return text.empty() ? std::string_view(content_prompt) : text;
    }
    // What the backend is asked for (a copy: the job keeps its own).
    proto::GenerationParams generation_params() const {
        proto::GenerationParams g;
        static_cast<proto::GenerationOptions&>(g) = params;
        g.model = model;
        g.prompt.assign(prompt());
        return g;
    }
};

}  // namespace pylon::engine
