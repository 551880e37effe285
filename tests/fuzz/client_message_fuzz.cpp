// Fuzzes ClientMessage (client -> relay, what a relay simulator reads): hostile bytes never
// crash; what is accepted writes back to a message that parses to the same values.
#include "proto/client_message.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static JsonReader reader;
    static ClientMessage m;
    static ClientMessage back;
    if (m.read_json(reader, pylon::fuzz::as_text(data, size)) != Reject::none) {
        return 0;
    }
    std::string wire;
    switch (m.type) {
        case ClientMessageType::event:
            write_client_event(wire, m.event);
            break;
        case ClientMessageType::auth:
            write_client_auth(wire, m.event);
            break;
        case ClientMessageType::close:
            write_client_close(wire, m.subid);
            break;
        case ClientMessageType::req:
            write_client_req(wire, m.subid, m.filters);
            break;
        case ClientMessageType::count:
            write_client_count(wire, m.subid, m.filters);
            break;
    }
    FUZZ_CHECK(back.read_json(reader, wire) == Reject::none);
    FUZZ_CHECK(back.type == m.type && back.subid == m.subid && back.filters == m.filters);
    if (m.type == ClientMessageType::event || m.type == ClientMessageType::auth) {
        FUZZ_CHECK(back.event.to_json() == m.event.to_json());
    }
    return 0;
}
