#include "net/http_parser.hpp"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/net/parser_test_util.hpp"

namespace pylon::net {
namespace {

using testutil::span_of;

struct Parsed {
    bool head = false;
    bool done = false;
    HttpError error = HttpError::none;
    std::string body;
    std::size_t consumed = 0;
};

Parsed parse(HttpResponseParser& p, std::string_view wire, std::size_t piece, bool eof = false) {
    Parsed out;
    for (std::size_t off = 0; off < wire.size() && !out.done && out.error == HttpError::none;
         off += piece) {
        std::string_view part = wire.substr(off, piece);
        std::size_t used = 0;
        for (;;) {
            HttpStep s = p.step(span_of(part.substr(used)));
            used += s.consumed;
            if (s.event == HttpEvent::head) {
                out.head = true;
            } else if (s.event == HttpEvent::body) {
                out.body.append(reinterpret_cast<const char*>(s.body.data()), s.body.size());
            } else if (s.event == HttpEvent::done) {
                out.done = true;
                break;
            } else if (s.event == HttpEvent::error) {
                out.error = p.error();
                break;
            } else {
                break;  // need_more
            }
        }
        out.consumed += used;
    }
    if (eof && !out.done && out.error == HttpError::none) {
        HttpStep s = p.finish_eof();
        out.done = s.event == HttpEvent::done;
        if (s.event == HttpEvent::error) {
            out.error = p.error();
        }
    }
    return out;
}

Parsed parse(std::string_view wire, std::size_t piece, bool eof = false, HttpLimits limits = {}) {
    HttpResponseParser p(limits);
    return parse(p, wire, piece, eof);
}

TEST(HttpResponseParser, ContentLengthAtEverySplit) {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 11\r\n"
        "X-Multi: a, b\r\n\r\nhello world";
    for (std::size_t piece = 1; piece <= wire.size(); piece++) {
        HttpResponseParser p;
        Parsed r = parse(p, wire, piece);
        // The final `done` comes from one more step after the last body byte.
        if (!r.done) {
            r.done = p.step({}).event == HttpEvent::done;
        }
        EXPECT_TRUE(r.head && r.done) << piece;
        EXPECT_EQ(r.body, "hello world") << piece;
        EXPECT_EQ(p.head().status, 200);
        EXPECT_EQ(p.head().reason, "OK");
        EXPECT_EQ(p.head().header("content-type"), "text/plain");
        EXPECT_EQ(p.head().header("x-multi"), "a, b");
        EXPECT_TRUE(p.head().keep_alive);
    }
}

TEST(HttpResponseParser, ChunkedWithTrailersAtEverySplit) {
    const std::string wire =
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"
        "4\r\n{\"a\"\r\n2\r\n:1\r\n1\r\n}\r\n0\r\nTrailer: x\r\n\r\n";
    for (std::size_t piece = 1; piece <= wire.size(); piece++) {
        HttpResponseParser p;
        Parsed r = parse(p, wire, piece);
        EXPECT_TRUE(r.done) << piece;
        EXPECT_EQ(r.body, "{\"a\":1}") << piece;
        EXPECT_TRUE(p.head().chunked);
        EXPECT_FALSE(p.head().content_length) << "Transfer-Encoding wins";
        EXPECT_EQ(r.consumed, wire.size());
    }
}

TEST(HttpResponseParser, InterimResponsesAreSkippedAndKeepAliveRules) {
    HttpResponseParser p;
    Parsed r = parse(p,
                     "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\nConnection: close\r\n"
                     "Content-Length: 0\r\n\r\n",
                     7);
    EXPECT_TRUE(r.head);
    EXPECT_EQ(p.head().status, 404);
    EXPECT_FALSE(p.head().keep_alive);
    p.reset();
    r = parse(p, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 100);
    EXPECT_FALSE(p.head().keep_alive);
    p.reset();
    r = parse(p, "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", 100);
    EXPECT_TRUE(p.head().keep_alive);
    p.reset(true);  // HEAD: no body even with a length
    r = parse(p, "HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n", 100);
    EXPECT_TRUE(r.done);
    p.reset();
    r = parse(p, "HTTP/1.1 204 No Content\r\n\r\n", 100);
    EXPECT_TRUE(r.done);
}

TEST(HttpResponseParser, CloseDelimitedBodyEndsAtEof) {
    HttpResponseParser p;
    Parsed r = parse(p, "HTTP/1.1 200 OK\r\n\r\nuntil the end", 4, true);
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "until the end");
    EXPECT_FALSE(p.head().keep_alive);
}

TEST(HttpResponseParser, TruncatedBodiesAreErrorsNotSuccess) {
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 100, true).error,
              HttpError::truncated);
    EXPECT_EQ(
        parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 100, true).error,
        HttpError::truncated);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Le", 100, true).error, HttpError::truncated);
}

TEST(HttpResponseParser, HostileHeadsAreRejected) {
    EXPECT_EQ(parse("HTTP/2 200 OK\r\n\r\n", 100).error, HttpError::bad_status_line);
    EXPECT_EQ(parse("HTTP/1.1 20 OK\r\n\r\n", 100).error, HttpError::bad_status_line);
    EXPECT_EQ(parse("HTTP/1.1 2000 OK\r\n\r\n", 100).error, HttpError::bad_status_line);
    EXPECT_EQ(parse("HTTP/1.1 099 OK\r\n\r\n", 100).error, HttpError::bad_status_line);
    EXPECT_EQ(parse("garbage\r\n\r\n", 100).error, HttpError::bad_status_line);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nNo colon\r\n\r\n", 100).error, HttpError::bad_header);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\n: empty name\r\n\r\n", 100).error, HttpError::bad_header);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", 100).error,
              HttpError::bad_header);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 100).error, HttpError::bad_header);
    EXPECT_EQ(parse(std::string("HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n"), 100).error,
              HttpError::bad_header);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 100).error,
              HttpError::bad_content_length);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 100).error,
              HttpError::bad_content_length);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 100).error,
              HttpError::bad_content_length);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 100).error,
              HttpError::unsupported_transfer_encoding);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nxyz\r\n", 100).error,
              HttpError::bad_chunk);
}

TEST(HttpResponseParser, BoundsAreEnforced) {
    HttpLimits limits;
    limits.head_bytes_max = 100;
    limits.headers_max = 2;
    limits.body_bytes_max = 10;
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nA: " + std::string(200, 'x') + "\r\n\r\n", 7, false, limits)
                  .error,
              HttpError::head_too_large);
    EXPECT_EQ(parse(std::string(300, 'H'), 300, false, limits).error, HttpError::head_too_large);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", 100, false, limits).error,
              HttpError::too_many_headers);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n", 100, false, limits).error,
              HttpError::body_too_large);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nabcdef\r\n"
                    "6\r\nabcdef\r\n",
                    100, false, limits)
                  .error,
              HttpError::body_too_large);
    EXPECT_EQ(parse("HTTP/1.1 200 OK\r\n\r\n" + std::string(20, 'x'), 100, true, limits).error,
              HttpError::body_too_large);
}

}  // namespace
}  // namespace pylon::net
