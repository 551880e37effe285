#include "net/unix_socket.hpp"

#include "net/address.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <optional>
#include <string>

#include "reactor/gate.hpp"
#include "reactor/ops.hpp"
#include "tests/support/temp_dir.hpp"
#include "tests/unit/net/net_test_util.hpp"

namespace pylon::net {
namespace {

using reactor::Task;

std::string make_dir() {
    static std::vector<test::TempDir> dirs;  // removed at exit
    auto d = test::TempDir::create("pylon-unix");
    PYLON_ASSERT(d.ok());
    dirs.push_back(std::move(d).value());
    return dirs.back().path();
}

// A socket file left behind by a process that died: bound, never listened, fd closed.
void make_stale_socket(const std::string& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto a = Address::unix_path(path);
    ASSERT_EQ(::bind(fd, a->sockaddr_ptr(), a->length), 0);
    ::close(fd);
}

Task<void> serve_one(UnixListener* l, std::string* got) {
    auto s = co_await l->accept();
    EXPECT_TRUE(s.ok());
    if (!s.ok()) {
        co_return;
    }
    Result<Bytes> r = co_await (*s)->read(2000);
    if (r.ok()) {
        got->assign(as_text(*r));
    }
    EXPECT_TRUE((co_await (*s)->write(as_bytes("pong"))).ok());
    (void)co_await (*s)->flush(2000, {});
    co_await (*s)->close();
}

TEST(UnixSocket, ListenerIs0600AndServesAClient) {
    std::string path = make_dir() + "/control.sock";
    unsigned mode = 0;
    std::string server_got;
    std::string client_got;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, unsigned* m, std::string* sg, std::string* cg) -> Task<void> {
            auto l = co_await UnixListener::open(p);
            EXPECT_TRUE(l.ok()) << (l.ok() ? "" : l.error().message());
            if (!l.ok()) {
                co_return;
            }
            struct stat st {};
            ::stat(p.c_str(), &st);
            *m = st.st_mode & 0777;
            reactor::Gate gate;
            gate.spawn(serve_one(l->get(), sg));
            auto c = co_await unix_connect(p);
            EXPECT_TRUE(c.ok());
            if (c.ok()) {
                EXPECT_TRUE((co_await (*c)->write(as_bytes("ping"))).ok());
                Result<Bytes> r = co_await (*c)->read(2000);
                if (r.ok()) {
                    cg->assign(as_text(*r));
                }
                co_await (*c)->close();
            }
            co_await gate.close();
            co_await (*l)->stop();
            EXPECT_NE(::access(p.c_str(), F_OK), 0) << "stop() removes the socket file";
        }(path, &mode, &server_got, &client_got);
    });
    EXPECT_EQ(mode, 0600u);
    EXPECT_EQ(server_got, "ping");
    EXPECT_EQ(client_got, "pong");
}

TEST(UnixSocket, StaleFileIsReplacedLiveOneIsRefused) {
    std::string path = make_dir() + "/control.sock";
    make_stale_socket(path);
    std::string second_error;
    Errc second_code = Errc::internal;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, std::string* err, Errc* code) -> Task<void> {
            auto first = co_await UnixListener::open(p);
            EXPECT_TRUE(first.ok()) << (first.ok() ? "" : first.error().message());
            auto second = co_await UnixListener::open(p);
            EXPECT_FALSE(second.ok());
            if (!second.ok()) {
                *err = second.error().message();
                *code = second.error().code();
            } else {
                co_await (*second)->stop();
            }
            if (first.ok()) {
                co_await (*first)->stop();
            }
        }(path, &second_error, &second_code);
    });
    EXPECT_EQ(second_code, Errc::exists);
    EXPECT_EQ(second_error,
              path + ": another process is listening on this socket (it holds " + path + ".lock)");
}

// Takes the lock a listener on `path` would hold, as another process does, in a forked child
// that then waits to be killed. Returns the child's pid.
pid_t lock_in_child(const std::string& path) {
    std::string lock_path = listener_lock_path(path);  // the child only makes system calls
    int ready[2];
    PYLON_ASSERT(::pipe(ready) == 0);
    pid_t pid = ::fork();
    PYLON_ASSERT(pid >= 0);
    if (pid == 0) {
        int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT, 0600);
        flock l{};
        l.l_type = F_WRLCK;
        l.l_whence = SEEK_SET;
        char ok = fd >= 0 && ::fcntl(fd, F_OFD_SETLK, &l) == 0 ? '1' : '0';
        (void)::write(ready[1], &ok, 1);
        for (;;) {
            ::pause();
        }
    }
    ::close(ready[1]);
    char ok = 0;
    PYLON_ASSERT(::read(ready[0], &ok, 1) == 1 && ok == '1');
    ::close(ready[0]);
    return pid;
}

// Why a listener could not open `path`; nullopt when it could (it is stopped again).
std::optional<Errc> open_error(const std::string& path) {
    std::optional<Errc> code;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, std::optional<Errc>* c) -> Task<void> {
            auto l = co_await UnixListener::open(p);
            if (l.ok()) {
                co_await (*l)->stop();
            } else {
                *c = l.error().code();
            }
        }(path, &code);
    });
    return code;
}

// A live listener owns its path through the lock, not through answering: one too busy to
// accept (here: a process that holds the lock over a socket file nobody accepts on) keeps its
// socket file, and listener_holds() says so. Its death (SIGKILL) frees the path at once.
TEST(UnixSocket, TheLockNotTheProbeDecidesWhoOwnsThePath) {
    std::string path = make_dir() + "/control.sock";
    EXPECT_FALSE(listener_holds(path)) << "no lock file yet";
    make_stale_socket(path);
    pid_t holder = lock_in_child(path);
    EXPECT_TRUE(listener_holds(path));
    EXPECT_EQ(open_error(path), Errc::exists);
    struct stat st {};
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << "the holder's socket file was removed";
    ASSERT_EQ(::kill(holder, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(holder, &status, 0), holder);
    EXPECT_FALSE(listener_holds(path));
    EXPECT_EQ(open_error(path), std::nullopt) << "a dead holder's stale socket is replaced";
}

TEST(UnixSocket, ListenerHoldsItsPathWhileItListensAndNotAfterStop) {
    std::string path = make_dir() + "/control.sock";
    bool during = false;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, bool* d) -> Task<void> {
            auto l = co_await UnixListener::open(p);
            EXPECT_TRUE(l.ok());
            if (l.ok()) {
                *d = listener_holds(p);
                co_await (*l)->stop();
            }
        }(path, &during);
    });
    EXPECT_TRUE(during);
    EXPECT_FALSE(listener_holds(path));
    struct stat st {};
    ASSERT_EQ(::stat(listener_lock_path(path).c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// A child forked while the listener runs shares the lock's open file description: stop() must
// still free the path (it unlocks before it closes), or an embedding host that forks workers
// could never listen there again while they live.
TEST(UnixSocket, StopFreesThePathEvenWhileAForkedChildLives) {
    std::string path = make_dir() + "/control.sock";
    pid_t child = -1;
    bool held_after_stop = true;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, pid_t* c, bool* held) -> Task<void> {
            auto l = co_await UnixListener::open(p);
            EXPECT_TRUE(l.ok());
            if (!l.ok()) {
                co_return;
            }
            *c = ::fork();
            if (*c == 0) {
                for (;;) {
                    ::pause();
                }
            }
            co_await (*l)->stop();
            *held = listener_holds(p);
        }(path, &child, &held_after_stop);
    });
    ASSERT_GT(child, 0);
    EXPECT_FALSE(held_after_stop);
    EXPECT_EQ(open_error(path), std::nullopt) << "the path is free while the child lives";
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
}

// pylon start's way to clean up a dead daemon's socket: while its PathClaim is held no listener
// can take the path; once released, one can.
TEST(UnixSocket, APathClaimKeepsListenersOutUntilReleased) {
    std::string path = make_dir() + "/control.sock";
    auto claim = PathClaim::take(path);
    ASSERT_TRUE(claim.ok()) << claim.error().message();
    EXPECT_TRUE(listener_holds(path));
    EXPECT_EQ(open_error(path), Errc::exists);
    auto second = PathClaim::take(path);
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code(), Errc::exists);
    claim->release();
    EXPECT_FALSE(listener_holds(path));
    EXPECT_EQ(open_error(path), std::nullopt);
}

// A program that listens without taking the lock (not a UnixListener) is still protected by
// the connect probe.
TEST(UnixSocket, AListenerWithoutTheLockIsFoundByTheProbe) {
    std::string path = make_dir() + "/control.sock";
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    auto a = Address::unix_path(path);
    ASSERT_EQ(::bind(fd, a->sockaddr_ptr(), a->length), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    EXPECT_FALSE(listener_holds(path));
    EXPECT_EQ(open_error(path), Errc::exists);
    ::close(fd);
}

TEST(UnixSocket, RegularFileIsNeverReplaced) {
    std::string path = make_dir() + "/control.sock";
    FILE* f = std::fopen(path.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs("precious", f);
    std::fclose(f);
    Errc code = Errc::internal;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, Errc* c) -> Task<void> {
            auto l = co_await UnixListener::open(p);
            EXPECT_FALSE(l.ok());
            if (!l.ok()) {
                *c = l.error().code();
            } else {
                co_await (*l)->stop();
            }
        }(path, &code);
    });
    EXPECT_EQ(code, Errc::exists);
    struct stat st {};
    ASSERT_EQ(::stat(path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));
}

// A child process that switched to another uid connects: it gets the refusal line and EOF, and
// the listener counts it; our own connection afterwards is served.
TEST(UnixSocket, AnotherUidIsRefused) {
    if (::geteuid() != 0) {
        GTEST_SKIP() << "needs root to run a child as another uid";
    }
    passwd* nobody = ::getpwnam("nobody");
    uid_t other = nobody != nullptr ? nobody->pw_uid : 65534;
    std::string dir = make_dir();
    ASSERT_EQ(::chmod(dir.c_str(), 0755), 0);  // the child must reach the socket file
    std::string path = dir + "/control.sock";
    std::uint64_t refused = 0;
    int child_status = -1;
    std::string served;
    testutil::run([&]() -> Task<void> {
        return [](std::string p, uid_t uid, std::uint64_t* ref, int* status,
                  std::string* got) -> Task<void> {
            UnixListenerOptions opt;
            opt.refusal_bytes = "{\"Error\":\"permission denied\"}\n";
            auto l = co_await UnixListener::open(p, opt);
            EXPECT_TRUE(l.ok());
            if (!l.ok()) {
                co_return;
            }
            ::chmod(p.c_str(), 0666);  // let the other uid connect at all (the uid check is ours)
            pid_t pid = ::fork();
            if (pid == 0) {
                if (::setuid(uid) != 0) {
                    ::_exit(10);
                }
                int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
                auto a = Address::unix_path(p);
                if (::connect(fd, a->sockaddr_ptr(), a->length) != 0) {
                    ::_exit(11);
                }
                char buf[128];
                ssize_t n = ::read(fd, buf, sizeof buf);
                std::string line(buf, n > 0 ? static_cast<std::size_t>(n) : 0);
                ssize_t n2 = ::read(fd, buf, sizeof buf);
                ::_exit(line == "{\"Error\":\"permission denied\"}\n" && n2 == 0 ? 0 : 12);
            }
            reactor::Gate gate;
            gate.spawn(serve_one(l->get(), got));
            // Our own connection is served only after the child's was refused.
            while ((*l)->refused_count() == 0) {
                co_await reactor::sleep_ms(5);
            }
            auto c = co_await unix_connect(p);
            EXPECT_TRUE(c.ok());
            if (c.ok()) {
                EXPECT_TRUE((co_await (*c)->write(as_bytes("mine"))).ok());
                (void)co_await (*c)->read(2000);
                co_await (*c)->close();
            }
            co_await gate.close();
            *ref = (*l)->refused_count();
            co_await (*l)->stop();
            ::waitpid(pid, status, 0);
        }(path, other, &refused, &child_status, &served);
    });
    ASSERT_TRUE(WIFEXITED(child_status));
    EXPECT_EQ(WEXITSTATUS(child_status), 0) << "10: setuid, 11: connect, 12: no refusal seen";
    EXPECT_EQ(refused, 1u);
    EXPECT_EQ(served, "mine");
}

}  // namespace
}  // namespace pylon::net
