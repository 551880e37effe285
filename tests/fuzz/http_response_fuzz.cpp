// Fuzzes HttpResponseParser: hostile responses never crash; the bounds hold; feeding the input
// whole or in small pieces gives the same head, body and outcome.
#include "net/chunked_decoder.cpp"  // NOLINT: compiled in for instrumentation (see support header)
#include "net/http_parser.cpp"      // NOLINT
#include "tests/fuzz/net_fuzz_support.hpp"

using namespace pylon::net;

namespace {

struct Outcome {
    std::string body;
    int status = 0;
    bool head = false;
    bool done = false;
    HttpError error = HttpError::none;
};

Outcome run(std::span<const std::uint8_t> input, std::size_t piece, const HttpLimits& limits) {
    HttpResponseParser p(limits);
    Outcome o;
    for (std::size_t off = 0; off < input.size() && !o.done && o.error == HttpError::none;
         off += piece) {
        std::span<const std::uint8_t> part =
            input.subspan(off, std::min(piece, input.size() - off));
        for (int guard = 0; guard < 1 << 20; guard++) {
            HttpStep s = p.step(part);
            NET_FUZZ_CHECK(s.consumed <= part.size());
            part = part.subspan(s.consumed);
            if (s.event == HttpEvent::head) {
                o.head = true;
                o.status = p.head().status;
                NET_FUZZ_CHECK(p.head().headers.size() <= limits.headers_max);
            } else if (s.event == HttpEvent::body) {
                o.body.append(reinterpret_cast<const char*>(s.body.data()), s.body.size());
            } else if (s.event == HttpEvent::done) {
                o.done = true;
                break;
            } else if (s.event == HttpEvent::error) {
                o.error = p.error();
                NET_FUZZ_CHECK(o.error != HttpError::none);
                break;
            } else if (part.empty()) {
                break;
            }
        }
    }
    NET_FUZZ_CHECK(o.body.size() <= limits.body_bytes_max);
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    HttpLimits limits;
    limits.head_bytes_max = 2048;
    limits.headers_max = 16;
    limits.body_bytes_max = 4096;
    auto input = fuzz::bytes(data, size);
    Outcome whole = run(input, input.size() + 1, limits);
    Outcome pieces = run(input, fuzz::piece_size(data, size), limits);
    NET_FUZZ_CHECK(whole.head == pieces.head);
    NET_FUZZ_CHECK(whole.status == pieces.status);
    NET_FUZZ_CHECK(whole.error == pieces.error);
    NET_FUZZ_CHECK(whole.done == pieces.done);
    NET_FUZZ_CHECK(whole.body == pieces.body);
    return 0;
}
