// ControlServer through a Runtime with no services, over a real control.sock: half-closing
// clients get every reply, over-long complete lines close the connection with the documented
// error, connections_max holds under a burst of connects, idle connections are closed (but not
// subscribers), bad arguments are "bad request", and the client shows the server's refusal.
#include "engine/control_server.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "engine/control_client.hpp"
#include "engine/runtime.hpp"
#include "reactor/clock.hpp"
#include "tests/support/temp_dir.hpp"

namespace pylon::engine {
namespace {

constexpr int read_timeout_ms = 5000;

// A runtime with only the built-in services, one shard, in a temporary home.
class ControlServerTest : public ::testing::Test {
  protected:
    void start(const ControlConfig& control) {
        auto dir = test::TempDir::create("pylon-control");
        ASSERT_TRUE(dir.ok());
        dir_.emplace(std::move(dir.value()));
        RuntimeOptions o;
        o.home_dir = dir_->path();
        o.db_path = dir_->file("pylon.db");
        o.control_socket_path = dir_->file("control.sock");
        o.shards = 1;
        o.config.shards.pin = false;
        o.config.control = control;
        runtime_.emplace(std::move(o));
        ASSERT_TRUE(runtime_->start().ok());
    }
    void TearDown() override {
        if (runtime_) {
            EXPECT_TRUE(runtime_->stop().ok());
        }
    }
    ControlClient connect() {
        auto c = ControlClient::connect(dir_->file("control.sock"));
        EXPECT_TRUE(c.ok()) << c.error().message();
        return std::move(c.value());
    }
    // Every line until the server closes the connection (bounded in count and time).
    static std::vector<std::string> lines_until_eof(ControlClient& c) {
        std::vector<std::string> lines;
        for (int i = 0; i < 1000; i++) {
            auto line = c.read_line(read_timeout_ms);
            if (!line.ok()) {
                EXPECT_EQ(line.error().code(), Errc::closed) << line.error().message();
                break;
            }
            lines.push_back(*line);
        }
        return lines;
    }

    std::optional<test::TempDir> dir_;
    std::optional<Runtime> runtime_;
};

TEST_F(ControlServerTest, HalfClosedClientGetsEveryReplyThenEof) {
    start(ControlConfig{});
    // Each round: requests then shutdown(SHUT_WR), as `printf .. | socat - UNIX-CONNECT:` does.
    for (int round = 0; round < 10; round++) {
        ControlClient c = connect();
        ASSERT_TRUE(c.send("\"Ping\"\n\"Status\"").ok());
        ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
        std::vector<std::string> lines = lines_until_eof(c);
        ASSERT_EQ(lines.size(), 2u) << "round " << round;
        EXPECT_EQ(lines[0], "\"Pong\"");
        EXPECT_EQ(lines[1].rfind("{\"Status\":{\"running\":true,", 0), 0u) << lines[1];
    }
    // Many pipelined requests: all answered, in order.
    ControlClient c = connect();
    std::string batch;
    for (int i = 0; i < 50; i++) {
        batch += i == 0 ? "\"Health\"" : "\n\"Health\"";
    }
    ASSERT_TRUE(c.send(batch).ok());
    ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
    std::vector<std::string> lines = lines_until_eof(c);
    ASSERT_EQ(lines.size(), 50u);
    for (const std::string& line : lines) {
        EXPECT_EQ(line.rfind("{\"Health\":", 0), 0u) << line;
    }
    // A final line without its newline is not a complete request: not answered.
    ControlClient partial = connect();
    ASSERT_EQ(::send(partial.fd(), "\"Ping\"\n\"Ping\"", 13, MSG_NOSIGNAL), 13);
    ASSERT_EQ(::shutdown(partial.fd(), SHUT_WR), 0);
    EXPECT_EQ(lines_until_eof(partial), (std::vector<std::string>{"\"Pong\""}));
}

// `printf '"Ping"\n"Subscribe"\n' | socat`: the client shuts its side at once; the replies to
// what it sent still arrive before the close (they were dropped with the subscription).
TEST_F(ControlServerTest, HalfClosedSubscriberGetsItsRepliesThenEof) {
    start(ControlConfig{});
    for (int round = 0; round < 10; round++) {
        ControlClient c = connect();
        ASSERT_TRUE(c.send("\"Ping\"\n\"Subscribe\"").ok());
        ASSERT_EQ(::shutdown(c.fd(), SHUT_WR), 0);
        EXPECT_EQ(lines_until_eof(c), (std::vector<std::string>{"\"Pong\"", "\"Ok\""}))
            << "round " << round;
    }
}

// autopilotd's form has its six requests: a service's request (Memory, from the supervision)
// is an unknown command there, in that form's reply shape; a second `type` is refused.
TEST_F(ControlServerTest, TheTypedFormAnswersOnlyAutopilotdsRequests) {
    start(ControlConfig{});
    ControlClient c = connect();
    ASSERT_EQ(c.request("\"Memory\"")->tag, "Memory");
    ASSERT_TRUE(c.send("{\"type\":\"Memory\"}").ok());
    auto line = c.read_line(read_timeout_ms);
    ASSERT_TRUE(line.ok());
    EXPECT_EQ(*line, "{\"success\":false,\"message\":\"unknown command 'Memory'\"}");
    auto twice = c.request("{\"type\":\"Shutdown\",\"type\":\"Status\"}");
    ASSERT_TRUE(twice.ok());
    EXPECT_EQ(twice->error, "bad request: type given twice");
    EXPECT_EQ(c.request("\"Ping\"")->tag, "Pong");  // not shut down
}

// A subscriber hears why the node stops: ShuttingDown carries request_stop's reason.
TEST_F(ControlServerTest, ShuttingDownSaysWhy) {
    start(ControlConfig{});
    ControlClient c = connect();
    ASSERT_EQ(c.request("\"Subscribe\"")->tag, "Ok");
    runtime_->request_stop("maintenance window");
    std::vector<std::string> lines = lines_until_eof(c);
    ASSERT_FALSE(lines.empty());
    EXPECT_EQ(lines.front().rfind("{\"ShuttingDown\":{\"reason\":\"maintenance window\"", 0), 0u)
        << lines.front();
}

TEST_F(ControlServerTest, CompleteLineOverTheBoundGetsTheErrorThenClose) {
    ControlConfig control;
    control.line_bytes_max = 1000;
    start(control);
    // Exactly the bound: an ordinary (unknown) request; the connection stays usable.
    ControlClient at_max = connect();
    auto reply = at_max.request("\"" + std::string(998, 'a') + "\"");
    ASSERT_TRUE(reply.ok()) << reply.error().message();
    EXPECT_EQ(reply->tag, "Error");
    EXPECT_NE(reply->error.find("unknown request"), std::string::npos) << reply->error;
    // The name is given back in part (64 characters and "..."), not echoed whole.
    EXPECT_EQ(reply->error, "unknown request '" + std::string(64, 'a') + "...'");
    // ... cut between characters, so the reply stays UTF-8 (here é, 2 bytes: 64 falls inside
    // the 33rd when one ASCII byte leads).
    std::string accents = "x";
    for (int i = 0; i < 100; i++) {
        accents += "\xc3\xa9";
    }
    auto cut = at_max.request("\"" + accents + "\"");
    ASSERT_TRUE(cut.ok()) << cut.error().message();
    EXPECT_EQ(cut->error, "unknown request '" + accents.substr(0, 63) + "...'");
    EXPECT_EQ(at_max.request("\"Ping\"")->tag, "Pong");
    // One byte over, complete, with requests pipelined after it in the same write: the ones
    // before it are answered, then the documented error, then the end of the connection.
    for (std::size_t extra : {std::size_t{1}, std::size_t{500}}) {
        ControlClient c = connect();
        std::string over = "\"" + std::string(998 + extra, 'a') + "\"";
        ASSERT_TRUE(c.send("\"Ping\"\n" + over + "\n\"Status\"\n\"Ping\"").ok());
        std::vector<std::string> lines = lines_until_eof(c);
        ASSERT_EQ(lines.size(), 2u) << extra;
        EXPECT_EQ(lines[0], "\"Pong\"");
        EXPECT_EQ(lines[1], "{\"Error\":\"request line longer than 1000 bytes; closing\"}");
    }
    EXPECT_EQ(at_max.request("\"Ping\"")->tag, "Pong");
}

TEST_F(ControlServerTest, BadArgumentsAreBadRequests) {
    start(ControlConfig{});
    ControlClient c = connect();
    for (const char* line : {"{\"Relays\":{\"x\":1}}", "{\"Status\":{\"x\":1}}",
                             "{\"Metrics\":{\"reset\":\"yes\"}}", "{\"Ping\":{\"x\":1}}"}) {
        auto reply = c.request(line);
        ASSERT_TRUE(reply.ok()) << line;
        EXPECT_EQ(reply->tag, "Error") << line;
        EXPECT_EQ(reply->error.rfind("bad request: ", 0), 0u) << line << ": " << reply->error;
    }
    EXPECT_EQ(c.request("{\"Status\":{}}")->tag, "Status");
    EXPECT_EQ(c.request("{\"Relays\":null}")->tag, "Relays");
}

// The refusal as a client sees it: request() gives the server's words, whether the request was
// sent before the server closed (an Error reply) or after (a failed send).
std::string refusal_text(ControlClient& c) {
    auto reply = c.request("\"Status\"");
    if (!reply.ok()) {
        EXPECT_EQ(reply.error().code(), Errc::busy) << reply.error().message();
        return reply.error().message();
    }
    EXPECT_EQ(reply->tag, "Error");
    return reply->error;
}

TEST_F(ControlServerTest, ConnectionsMaxHoldsUnderABurstAndTheClientSaysWhy) {
    ControlConfig control;
    control.connections_max = 2;
    start(control);
    for (int round = 0; round < 5; round++) {
        std::vector<ControlClient> burst;
        for (int i = 0; i < 6; i++) {
            burst.push_back(connect());  // all connected before any is answered
        }
        int served = 0;
        int refused = 0;
        for (ControlClient& c : burst) {
            auto reply = c.request("\"Ping\"");
            if (reply.ok() && reply->tag == "Pong") {
                served++;
            } else {
                std::string why = reply.ok() ? reply->error : reply.error().message();
                EXPECT_EQ(why, "too many control connections; try again later");
                refused++;
            }
        }
        EXPECT_LE(served, 2) << "round " << round;
        EXPECT_GE(served, 1) << "round " << round;
        EXPECT_EQ(served + refused, 6);
        burst.clear();
        // The server sees the closes before the next round (bounded wait).
        for (int i = 0; i < 100 && runtime_->status().running; i++) {
            ControlClient probe = connect();
            auto pong = probe.request("\"Ping\"");
            if (pong.ok() && pong->tag == "Pong") {
                break;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    // A refused client that writes after the server closed still gets the server's words.
    ControlClient a = connect();
    ControlClient b = connect();
    ASSERT_EQ(a.request("\"Ping\"")->tag, "Pong");
    ASSERT_EQ(b.request("\"Ping\"")->tag, "Pong");
    ControlClient late = connect();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the server has closed it
    EXPECT_EQ(refusal_text(late), "too many control connections; try again later");
}

TEST_F(ControlServerTest, IdleConnectionIsClosedButASubscriberIsNot) {
    ControlConfig control;
    control.idle_timeout_ms = 300;
    start(control);
    ControlClient sub = connect();
    ASSERT_EQ(sub.request("\"Subscribe\"")->tag, "Ok");
    ControlClient idle = connect();
    ASSERT_EQ(idle.request("\"Ping\"")->tag, "Pong");
    std::int64_t t0 = reactor::monotonic_ms();
    std::vector<std::string> lines = lines_until_eof(idle);
    std::int64_t waited = reactor::monotonic_ms() - t0;
    EXPECT_EQ(lines, (std::vector<std::string>{"{\"Error\":\"no request for 300 ms; closing\"}"}));
    EXPECT_GE(waited, 250);
    EXPECT_LT(waited, 3000);
    // A client that keeps asking within the timeout is not closed.
    ControlClient busy = connect();
    for (int i = 0; i < 5; i++) {
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        ASSERT_EQ(busy.request("\"Ping\"")->tag, "Pong") << i;
    }
    // The subscriber, silent all along, still gets events: the stop's ShuttingDown.
    ASSERT_TRUE(runtime_->stop().ok());
    runtime_.reset();
    std::vector<std::string> events = lines_until_eof(sub);
    ASSERT_FALSE(events.empty());
    EXPECT_EQ(events.back().rfind("{\"ShuttingDown\":", 0), 0u) << events.back();
}

}  // namespace
}  // namespace pylon::engine
