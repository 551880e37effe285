// Fuzzes Filter::read_element: hostile bytes never crash; an accepted filter round-trips through
// its JSON and matches the same events before and after.
#include "proto/filter.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

namespace {

const Event& sample_event() {
    static const Event e = [] {
        Event ev;
        ev.set_kind(5050);
        ev.set_created_at(1700000000);
        ev.add_tag({"e", std::string(64, 'a')});
        ev.add_tag({"t", "x"});
        ev.sign(pylon::fuzz::customer_keys());
        return ev;
    }();
    return e;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JsonReader reader;
    simdjson::dom::element root;
    if (reader.parse(pylon::fuzz::as_text(data, size), root) != Reject::none) {
        return 0;
    }
    Filter f;
    if (f.read_element(root, reader.limits()) != Reject::none) {
        return 0;
    }
    std::string json = f.to_json();
    FUZZ_CHECK(reader.parse(std::string_view(json), root) == Reject::none);
    Filter back;
    FUZZ_CHECK(back.read_element(root, reader.limits()) == Reject::none);
    FUZZ_CHECK(back == f);
    FUZZ_CHECK(back.matches(sample_event()) == f.matches(sample_event()));
    return 0;
}
