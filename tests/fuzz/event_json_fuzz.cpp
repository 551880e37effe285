// Fuzzes Event::read_json: hostile bytes never crash; an accepted event re-serialises to JSON of
// exactly json_bytes(), never longer than the input, that parses back to the same event, and its
// canonical form is stable.
#include "proto/event.hpp"
#include "proto/utf8.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JsonReader reader;
    static Event event;
    static Event again;
    static std::string scratch;
    // The same bytes as an unsigned template (`pylon event sign`): whatever is accepted is
    // signable (sanitised strings).
    if (again.read_template(reader, pylon::fuzz::as_text(data, size), 1) == Reject::none) {
        FUZZ_CHECK(utf8_signable(again.content()));
        again.sign(pylon::fuzz::provider_keys());
        FUZZ_CHECK(again.verify(scratch) == Reject::none);
    }
    if (event.read_json(reader, pylon::fuzz::as_text(data, size)) != Reject::none) {
        return 0;
    }
    std::string json = event.to_json();
    FUZZ_CHECK(json.size() == event.json_bytes());
    // Re-serialising never grows an event (Event::read_element relies on it to skip the
    // normalised-size check when the input already fits).
    FUZZ_CHECK(json.size() <= size);
    FUZZ_CHECK(again.read_json(reader, json) == Reject::none);
    FUZZ_CHECK(again.to_json() == json);
    FUZZ_CHECK(again.compute_id(scratch) == event.compute_id(scratch));
    (void)event.verify(scratch);
    return 0;
}
