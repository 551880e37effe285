// ResponseBuilder: the events a job sends back, signed with the node's key and framed once for
// the relays: `processing`, `partial` (the text so far), `error` (the reason as the status's
// extra info and as content) and `success` feedback (kind 7000), and the result (kind request +
// 1000: tags request, e with the relay hint, i unless encrypted, p, alt; an encrypted request
// gets an encrypted result and feedback in the cipher it used, as NDK and nostrdvm expect). The
// text is sanitised and capped so the event stays under the relays' 64 KiB (proto's builders).
// Each Publication carries the job's reply relays, its request id and its PublishClass
// (processing and partial feedback: progress; the rest: terminal). Owner shard of the job (one
// builder per shard; it keeps its scratch event and buffers between calls).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/job.hpp"
#include "engine/publication.hpp"
#include "proto/job_feedback.hpp"
#include "proto/job_result.hpp"
#include "proto/keys.hpp"
#include "proto/random_source.hpp"

namespace pylon::engine {

class ResponseBuilder {
  public:
    ResponseBuilder(const proto::Keypair& keys, proto::RandomSource& random)
        : keys_(keys), random_(random) {}

    // nullptr if proto refused to build it (then logged; cannot happen for sane inputs).
    std::shared_ptr<Publication> feedback(const Job& job, proto::FeedbackStatus status,
                                          std::string_view info, std::string_view content,
                                          std::int64_t now_s, std::int64_t now_ms);
    std::shared_ptr<Publication> result(const Job& job, std::string_view text,
                                        std::size_t text_bytes_max, std::int64_t now_s,
                                        std::int64_t now_ms, proto::ResultReport* report);
    // Frames an already signed event (announcements, AUTH is separate).
    std::shared_ptr<Publication> frame(const proto::Event& event, std::int64_t now_ms);

  private:
    std::shared_ptr<Publication> finish(const Job& job, std::int64_t now_ms);

    const proto::Keypair& keys_;
    proto::RandomSource& random_;
    proto::Event event_;
    std::string canonical_;  // event_'s id preimage, left by signing it: the frame copies it
    std::string alt_;        // result_alt_text(alt_kind_), kept: most jobs are of one kind
    std::uint32_t alt_kind_ = 0;
};

// "NIP-90 result of a kind 5050 job (text generation)".
std::string result_alt_text(std::uint32_t request_kind);

}  // namespace pylon::engine
