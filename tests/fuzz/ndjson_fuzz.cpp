// Fuzzes NdjsonSplitter: hostile streams never crash; records never contain a newline and stay
// within their bound; whole and piecewise feeding produce the same records.
#include "net/ndjson.cpp"  // NOLINT: compiled in for instrumentation
#include "tests/fuzz/net_fuzz_support.hpp"

#include <vector>

using namespace pylon::net;

namespace {

constexpr std::size_t line_bytes_max = 300;

std::vector<std::string> run(std::string_view input, std::size_t piece, bool* failed) {
    NdjsonSplitter s(line_bytes_max);
    std::vector<std::string> out;
    for (std::size_t off = 0; off < input.size(); off += piece) {
        std::string_view part = input.substr(off, piece);
        s.feed({reinterpret_cast<const std::uint8_t*>(part.data()), part.size()});
        for (;;) {
            auto line = s.next();
            if (!line.ok()) {
                *failed = true;
                return out;
            }
            if (!*line) {
                break;
            }
            NET_FUZZ_CHECK(!(*line)->empty());
            NET_FUZZ_CHECK((*line)->size() <= line_bytes_max);
            NET_FUZZ_CHECK((*line)->find('\n') == std::string_view::npos);
            out.emplace_back(**line);
        }
        NET_FUZZ_CHECK(s.buffered_bytes() <= line_bytes_max);
    }
    auto last = s.finish();
    if (last.ok() && *last) {
        out.emplace_back(**last);
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
    NET_FUZZ_CHECK(failed_whole == failed_pieces);
    if (!failed_whole) {
        NET_FUZZ_CHECK(whole == pieces);
    }
    return 0;
}
