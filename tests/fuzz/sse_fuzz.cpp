// Fuzzes SseParser: hostile event streams never crash; events stay within their bound; whole and
// piecewise feeding produce the same events.
#include "net/sse.cpp"  // NOLINT: compiled in for instrumentation
#include "tests/fuzz/net_fuzz_support.hpp"

#include <vector>

using namespace pylon::net;

namespace {

constexpr std::size_t event_bytes_max = 512;

std::vector<std::string> run(std::string_view input, std::size_t piece, bool* failed) {
    SseParser p(event_bytes_max);
    std::vector<std::string> out;
    for (std::size_t off = 0; off < input.size(); off += piece) {
        std::string_view part = input.substr(off, piece);
        p.feed({reinterpret_cast<const std::uint8_t*>(part.data()), part.size()});
        for (;;) {
            auto ev = p.next();
            if (!ev.ok()) {
                *failed = true;
                return out;
            }
            if (!*ev) {
                break;
            }
            NET_FUZZ_CHECK((*ev)->data.size() <= event_bytes_max);
            NET_FUZZ_CHECK((*ev)->done == ((*ev)->data == "[DONE]"));
            out.push_back(std::string((*ev)->type) + '\0' + std::string((*ev)->data));
        }
    }
    return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view input(reinterpret_cast<const char*>(data), size);
    bool failed_whole = false;
    bool failed_pieces = false;
    auto whole = run(input, input.size() + 1, &failed_whole);
    auto pieces = run(input, pylon::net::fuzz::piece_size(data, size), &failed_pieces);
    if (!failed_whole && !failed_pieces) {
        NET_FUZZ_CHECK(whole == pieces);
    }
    return 0;
}
