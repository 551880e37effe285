// Fuzzes RelayMessage (relay -> client): hostile bytes never crash; what is accepted writes back
// to a message that parses to the same values.
#include "proto/relay_message.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

namespace {

void rewrite(const RelayMessage& m, std::string& out) {
    switch (m.type) {
        case RelayMessageType::event:
            write_relay_event(out, m.subid, m.event);
            break;
        case RelayMessageType::ok:
            write_relay_ok(out, m.ok_id, m.ok_accepted, m.text);
            break;
        case RelayMessageType::eose:
            write_relay_eose(out, m.subid);
            break;
        case RelayMessageType::closed:
            write_relay_closed(out, m.subid, m.text);
            break;
        case RelayMessageType::notice:
            write_relay_notice(out, m.text);
            break;
        case RelayMessageType::auth:
            write_relay_auth(out, m.text);
            break;
        case RelayMessageType::count:
            write_relay_count(out, m.subid, m.count, m.approximate);
            break;
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JsonReader reader;
    static RelayMessage m;
    static RelayMessage back;
    if (m.read_json(reader, pylon::fuzz::as_text(data, size)) != Reject::none) {
        return 0;
    }
    (void)m.reason();
    std::string wire;
    rewrite(m, wire);
    FUZZ_CHECK(back.read_json(reader, wire) == Reject::none);
    FUZZ_CHECK(back.type == m.type && back.subid == m.subid && back.text == m.text);
    FUZZ_CHECK(back.prefix == m.prefix && back.count == m.count);
    if (m.type == RelayMessageType::event) {
        FUZZ_CHECK(back.event.to_json() == m.event.to_json());
    }
    return 0;
}
