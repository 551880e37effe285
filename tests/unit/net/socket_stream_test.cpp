#include "net/socket_stream.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "tests/unit/net/net_test_util.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

struct Pair {
    int ours = -1;
    int theirs = -1;
    Pair() {
        int fds[2];
        PYLON_ASSERT(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
        ours = fds[0];
        theirs = fds[1];
    }
    ~Pair() {
        if (theirs >= 0) {
            ::close(theirs);
        }
    }
};

TEST(SocketStream, ReadTimesOutThenStillReceives) {
    Pair p;
    std::string first_error;
    std::string data;
    testutil::run([&]() -> Task<void> {
        return [](int fd, int peer, std::string* err, std::string* got) -> Task<void> {
            SocketStream s(fd, "pair");
            Result<Bytes> r = co_await s.read(50);
            EXPECT_FALSE(r.ok());
            if (!r.ok()) {
                EXPECT_EQ(r.error().code(), Errc::timeout);
                *err = r.error().message();
            }
            EXPECT_EQ(::write(peer, "late", 4), 4);
            Result<Bytes> r2 = co_await s.read(2000);
            if (r2.ok()) {
                got->assign(as_text(*r2));
            }
            co_await s.close();
        }(p.ours, p.theirs, &first_error, &data);
    });
    EXPECT_EQ(first_error, "pair: no data within 50 ms");
    EXPECT_EQ(data, "late");
}

TEST(SocketStream, PeerCloseIsAnEmptyRead) {
    Pair p;
    bool empty = false;
    testutil::run([&]() -> Task<void> {
        return [](int fd, int* peer, bool* saw_eof) -> Task<void> {
            SocketStream s(fd, "pair");
            EXPECT_EQ(::write(*peer, "x", 1), 1);
            ::close(*peer);
            *peer = -1;
            Result<Bytes> r = co_await s.read(2000);
            EXPECT_TRUE(r.ok() && r->size() == 1);
            Result<Bytes> r2 = co_await s.read(2000);
            *saw_eof = r2.ok() && r2->empty();
            co_await s.close();
        }(p.ours, &p.theirs, &empty);
    });
    EXPECT_TRUE(empty);
}

Task<void> read_until_closed(SocketStream* s, Errc* code) {
    Result<Bytes> r = co_await s->read(0);
    *code = r.ok() ? Errc::internal : r.error().code();
}

TEST(SocketStream, CloseWakesAPendingReaderAndRefusesWrites) {
    Pair p;
    Errc reader = Errc::internal;
    Errc writer = Errc::internal;
    testutil::run([&]() -> Task<void> {
        return [](int fd, Errc* rc, Errc* wc) -> Task<void> {
            SocketStream s(fd, "pair");
            reactor::Gate gate;
            gate.spawn(read_until_closed(&s, rc));
            co_await reactor::sleep_ms(20);
            co_await s.close();
            co_await gate.close();
            Result<std::size_t> w = s.try_write(as_bytes("late"));
            *wc = w.ok() ? Errc::internal : w.error().code();
        }(p.ours, &reader, &writer);
    });
    EXPECT_EQ(reader, Errc::closed);
    EXPECT_EQ(writer, Errc::closed);
}

// The peer never reads: the kernel buffers fill, the queue fills, and the stalled send fails the
// stream with a timeout instead of hanging.
TEST(SocketStream, StalledSendFailsTheStream) {
    Pair p;
    std::string message;
    testutil::run([&]() -> Task<void> {
        return [](int fd, std::string* msg) -> Task<void> {
            StreamOptions opt;
            opt.send_queue_bytes_max = 64 * 1024;
            opt.send_stall_timeout_ms = 200;
            SocketStream s(fd, "pair", opt);
            std::string block = testutil::pattern(64 * 1024);
            for (int i = 0; i < 4096; i++) {  // bounded: at most 256 MiB offered
                Status w = co_await s.write(as_bytes(block), 5000);
                if (!w.ok()) {
                    *msg = w.error().message();
                    break;
                }
            }
            co_await s.close();
        }(p.ours, &message);
    });
    EXPECT_EQ(message, "pair: no send progress within 200 ms");
}

Task<void> write_blocks(SocketStream* s, int blocks, std::string* error) {
    std::string block = testutil::pattern(64 * 1024);
    for (int i = 0; i < blocks; i++) {
        Status w = co_await s->write(as_bytes(block), 5000);
        if (!w.ok()) {
            *error = w.error().message();
            co_return;
        }
    }
}

// Two writers wait for room at once (a WebSocket's reader sends pongs while its writer sends
// events): when room comes, the first to resume resets the event before the second resumes;
// the second must wait again, not fail ("send cancelled" once broke relay links under load).
TEST(SocketStream, TwoWritersWaitingForRoomBothFinish) {
    Pair p;
    constexpr int blocks = 16;  // per writer, 64 KiB each
    constexpr std::size_t total = 2 * blocks * 64 * 1024;
    std::size_t drained = 0;
    std::thread peer([&]() {
        ::usleep(100 * 1000);  // both writers are waiting by now
        std::string buf(16 * 1024, '\0');
        for (int i = 0; i < 100000 && drained < total; i++) {  // bounded
            ssize_t n = ::read(p.theirs, buf.data(), buf.size());
            if (n <= 0) {
                break;
            }
            drained += static_cast<std::size_t>(n);
            ::usleep(200);  // a slow reader: room comes in small steps
        }
    });
    std::string first;
    std::string second;
    testutil::run([&]() -> Task<void> {
        return [](int fd, std::string* e1, std::string* e2) -> Task<void> {
            StreamOptions opt;
            opt.send_queue_bytes_max = 64 * 1024;
            SocketStream s(fd, "pair", opt);
            reactor::Gate gate;
            gate.spawn(write_blocks(&s, blocks, e1));
            gate.spawn(write_blocks(&s, blocks, e2));
            co_await gate.close();
            (void)co_await s.flush(5000, {});
            co_await s.close();
        }(p.ours, &first, &second);
    });
    peer.join();
    EXPECT_EQ(first, "");
    EXPECT_EQ(second, "");
    EXPECT_EQ(drained, total);
}

}  // namespace
}  // namespace pylon::net
