#include "tests/support/raw_http_connection.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <string>
#include <thread>

#include "reactor/assert.hpp"

namespace pylon::test {
namespace {

// A connected pair: `client` is the RawHttpConnection, `server` a plain fd the test writes to.
class Pair {
  public:
    Pair() {
        int sv[2];
        PYLON_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
        conn_.emplace(RawHttpConnection::adopt(sv[0]));
        server = sv[1];
    }
    Pair(const Pair&) = delete;
    Pair& operator=(const Pair&) = delete;
    ~Pair() { ::close(server); }

    RawHttpConnection& client() { return *conn_; }
    void write(std::string_view s) const {
        ASSERT_EQ(::write(server, s.data(), s.size()), static_cast<ssize_t>(s.size()));
    }

    int server = -1;

  private:
    std::optional<RawHttpConnection> conn_;
};

TEST(RawHttpConnection, ParsesChunkedBodyWithTimesPerChunk) {
    Pair p;
    p.write(
        "HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    auto before = std::chrono::steady_clock::now();
    std::thread late([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(60));
        p.write("6;ext=1\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n");
    });
    auto r = p.client().read_response(5000);
    late.join();
    ASSERT_TRUE(r.ok()) << r.error().message();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->reason, "OK");
    EXPECT_EQ(r->header("content-type"), "application/x-ndjson");
    EXPECT_TRUE(r->chunked);
    EXPECT_TRUE(r->complete);
    EXPECT_EQ(r->body, "hello world");
    ASSERT_EQ(r->chunks.size(), 2u);
    EXPECT_LE(r->chunks[0].at, r->chunks[1].at);
    EXPECT_GE(r->chunks[1].at - before, std::chrono::milliseconds(60));
}

TEST(RawHttpConnection, ContentLengthThenSecondResponseOnSameConnection) {
    Pair p;
    p.write(
        "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 204 No Content\r\n\r\n");
    auto a = p.client().read_response(1000);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->status, 404);
    EXPECT_EQ(a->body, "abc");
    EXPECT_TRUE(a->complete);
    auto b = p.client().read_response(1000);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->status, 204);
    EXPECT_TRUE(b->body.empty());
}

TEST(RawHttpConnection, TruncatedChunkedBodyIsIncomplete) {
    Pair p;
    p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    ::shutdown(p.server, SHUT_WR);
    auto r = p.client().read_response(1000);
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(r->complete);
    EXPECT_TRUE(r->peer_closed);
    EXPECT_EQ(r->body, "abc");
}

TEST(RawHttpConnection, BadChunkFramingIsFlagged) {
    Pair p;
    p.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n");
    auto r = p.client().read_response(1000);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->framing_error);
    EXPECT_FALSE(r->complete);
}

TEST(RawHttpConnection, TimeoutAndCloseBeforeHeadAreErrors) {
    Pair p;
    auto t = p.client().read_response(50);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error().code(), Errc::timeout);
    p.write("HTTP/1.1 200");
    ::shutdown(p.server, SHUT_WR);
    auto c = p.client().read_response(1000);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code(), Errc::closed);
}

TEST(RawHttpConnection, ReadBytesAfterAnUpgradeHead) {
    Pair p;
    p.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi");
    auto r = p.client().read_response(1000, true);
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->status, 101);
    auto frame = p.client().read_bytes(4, 1000);
    ASSERT_TRUE(frame.ok());
    EXPECT_EQ(*frame, "\x81\x02hi");
    auto more = p.client().read_bytes(1, 50);
    ASSERT_FALSE(more.ok());
    EXPECT_EQ(more.error().code(), Errc::timeout);
    ::shutdown(p.server, SHUT_WR);
    auto closed = p.client().read_bytes(1, 1000);
    ASSERT_FALSE(closed.ok());
    EXPECT_EQ(closed.error().code(), Errc::closed);
}

TEST(RawHttpConnection, MakeRequestAddsLengthForPost) {
    EXPECT_EQ(make_request("GET", "/x"), "GET /x HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    EXPECT_EQ(make_request("POST", "/y", "{}", {"Authorization: Bearer k"}),
              "POST /y HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer k\r\n"
              "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}");
}

}  // namespace
}  // namespace pylon::test
