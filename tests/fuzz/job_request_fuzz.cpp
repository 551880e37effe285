// Fuzzes the NIP-90 request path: the input as an event (JobRequest::read, TextGenParams) and as
// the plaintext of an encrypted request (NIP-44-encrypted to the provider, then read_encrypted),
// so the decrypted tag-list reader sees hostile JSON too. Accepted requests build a result and a
// feedback event within the size bound.
#include "proto/job_feedback.hpp"
#include "proto/job_request.hpp"
#include "proto/job_result.hpp"
#include "proto/text_gen_params.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

namespace {

void respond(const JobRequest& req) {
    static Event out;
    FixedRandom zeros;
    ResultSpec spec;
    spec.content = req.first_text_input();
    FUZZ_CHECK(build_result(req, "wss://r.example.com", spec, 1, pylon::fuzz::provider_keys(),
                            zeros, out) == Reject::none);
    FUZZ_CHECK(out.json_bytes() <= Limits{}.event_bytes_max);
    FeedbackSpec fb{FeedbackStatus::partial, "x", 1000, "lnbc", req.first_text_input()};
    FUZZ_CHECK(build_feedback(JobRef::of(req, ""), fb, 1, pylon::fuzz::provider_keys(), zeros,
                              out) == Reject::none);
    FUZZ_CHECK(out.json_bytes() <= Limits{}.event_bytes_max);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JsonReader reader;
    static Event event;
    std::string_view text = pylon::fuzz::as_text(data, size);
    JobRequest req;
    if (event.read_json(reader, text) == Reject::none && req.read(event) == Reject::none) {
        TextGenParams params;
        (void)params.read(req);
        if (!req.encrypted) {
            respond(req);
        }
    }
    if (size == 0 || size > 4096) {
        return 0;
    }
    // The same bytes as the decrypted content of an encrypted request.
    std::string payload;
    FixedRandom zeros;
    FUZZ_CHECK(encrypt_payload(Cipher::nip44, pylon::fuzz::customer_keys().secret(),
                               pylon::fuzz::provider_keys().public_key(), text, zeros,
                               payload) == Reject::none);
    Event enc;
    enc.set_kind(5050);
    enc.add_tag({"encrypted"});
    enc.set_content(payload);
    enc.set_pubkey(pylon::fuzz::customer_keys().public_key());
    if (req.read_encrypted(enc, pylon::fuzz::provider_keys().secret(), reader) == Reject::none) {
        FUZZ_CHECK(req.cipher == Cipher::nip44);
        respond(req);
    }
    return 0;
}
