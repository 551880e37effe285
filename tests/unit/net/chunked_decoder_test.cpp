#include "net/chunked_decoder.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/net/parser_test_util.hpp"

namespace pylon::net {
namespace {

using testutil::span_of;

struct Decoded {
    std::string data;
    bool done = false;
    ChunkedError error = ChunkedError::none;
    std::size_t consumed = 0;
};

// Feeds `wire` in pieces of `piece` bytes.
Decoded decode(std::string_view wire, std::size_t piece, ChunkedLimits limits = {}) {
    ChunkedDecoder d(limits);
    Decoded out;
    for (std::size_t off = 0; off < wire.size() && !out.done && out.error == ChunkedError::none;
         off += piece) {
        std::string_view part = wire.substr(off, piece);
        std::size_t used = 0;
        while (used < part.size()) {
            ChunkedStep s = d.step(span_of(part.substr(used)));
            used += s.consumed;
            out.data.append(reinterpret_cast<const char*>(s.data.data()), s.data.size());
            if (s.error != ChunkedError::none) {
                out.error = s.error;
                break;
            }
            if (s.done) {
                out.done = true;
                break;
            }
            if (s.consumed == 0) {
                break;
            }
        }
        out.consumed += used;
    }
    return out;
}

TEST(ChunkedDecoder, DecodesAtEverySplit) {
    const std::string wire =
        "5\r\nhello\r\n1;ext=1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: y\r\n\r\n";
    for (std::size_t piece = 1; piece <= wire.size(); piece++) {
        Decoded d = decode(wire, piece);
        EXPECT_TRUE(d.done) << piece;
        EXPECT_EQ(d.error, ChunkedError::none) << piece;
        EXPECT_EQ(d.data, "hello 0123456789") << piece;
        EXPECT_EQ(d.consumed, wire.size()) << piece;
    }
}

TEST(ChunkedDecoder, StopsAtTheEndOfTheBody) {
    Decoded d = decode("3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n", 1000);
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.data, "abc");
    EXPECT_EQ(d.consumed, 13u);  // not the next response
}

TEST(ChunkedDecoder, AcceptsBareLf) {
    Decoded d = decode("3\nabc\n0\n\n", 2);
    EXPECT_TRUE(d.done);
    EXPECT_EQ(d.data, "abc");
}

TEST(ChunkedDecoder, HostileInputIsRejected) {
    EXPECT_EQ(decode("zz\r\n", 100).error, ChunkedError::bad_size);
    EXPECT_EQ(decode("\r\n", 100).error, ChunkedError::bad_size);
    EXPECT_EQ(decode("-1\r\n", 100).error, ChunkedError::bad_size);
    EXPECT_EQ(decode("5 x\r\n", 100).error, ChunkedError::bad_size);
    EXPECT_EQ(decode("ffffffffffffffffffff\r\n", 100).error, ChunkedError::bad_size);
    EXPECT_EQ(decode("3\r\nabcX", 100).error, ChunkedError::bad_terminator);
    EXPECT_EQ(decode("3\r\nabc\rX", 100).error, ChunkedError::bad_terminator);
    EXPECT_EQ(decode(std::string(2000, '1'), 100).error, ChunkedError::line_too_long);
    ChunkedLimits small;
    small.chunk_bytes_max = 100;
    EXPECT_EQ(decode("65\r\n", 100, small).error, ChunkedError::bad_size);  // 101 bytes
    EXPECT_EQ(decode("64\r\n", 100, small).error, ChunkedError::none);
    small.trailer_bytes_max = 10;
    EXPECT_EQ(decode("0\r\nX: 12345678901\r\n\r\n", 100, small).error,
              ChunkedError::trailers_too_large);
    // A failed decoder stays failed.
    ChunkedDecoder d;
    EXPECT_EQ(d.step(span_of("q\r\n")).error, ChunkedError::bad_size);
    EXPECT_EQ(d.step(span_of("3\r\nabc\r\n")).error, ChunkedError::bad_size);
}

}  // namespace
}  // namespace pylon::net
