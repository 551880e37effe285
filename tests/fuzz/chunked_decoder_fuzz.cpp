// Fuzzes ChunkedDecoder: hostile chunked bodies never crash; whole and piecewise feeding decode
// the same bytes with the same outcome; the decoded size never exceeds the input size.
#include "net/chunked_decoder.cpp"  // NOLINT: compiled in for instrumentation
#include "tests/fuzz/net_fuzz_support.hpp"

using namespace pylon::net;

namespace {

struct Outcome {
    std::string data;
    bool done = false;
    ChunkedError error = ChunkedError::none;
    std::size_t consumed = 0;
};

Outcome run(std::span<const std::uint8_t> input, std::size_t piece) {
    ChunkedLimits limits;
    limits.size_line_bytes_max = 64;
    limits.chunk_bytes_max = 1 << 20;
    limits.trailer_bytes_max = 256;
    ChunkedDecoder d(limits);
    Outcome o;
    for (std::size_t off = 0; off < input.size() && !o.done && o.error == ChunkedError::none;
         off += piece) {
        auto part = input.subspan(off, std::min(piece, input.size() - off));
        while (!part.empty()) {
            ChunkedStep s = d.step(part);
            NET_FUZZ_CHECK(s.consumed <= part.size());
            NET_FUZZ_CHECK(s.data.size() <= s.consumed);
            o.consumed += s.consumed;
            part = part.subspan(s.consumed);
            o.data.append(reinterpret_cast<const char*>(s.data.data()), s.data.size());
            if (s.error != ChunkedError::none) {
                o.error = s.error;
                break;
            }
            if (s.done) {
                o.done = true;
                break;
            }
            if (s.consumed == 0) {
                break;
            }
        }
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto input = fuzz::bytes(data, size);
    Outcome whole = run(input, input.size() + 1);
    Outcome pieces = run(input, fuzz::piece_size(data, size));
    NET_FUZZ_CHECK(whole.data.size() <= size);
    NET_FUZZ_CHECK(whole.data == pieces.data);
    NET_FUZZ_CHECK(whole.done == pieces.done);
    NET_FUZZ_CHECK(whole.error == pieces.error);
    if (whole.done) {
        NET_FUZZ_CHECK(whole.consumed == pieces.consumed);
    }
    return 0;
}
