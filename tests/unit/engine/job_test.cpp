// Job's memory: a queued job is the bulk of what a deep runner queue costs (bench/README.md,
// "Memory per queued job"), so the heap a Job holds, as IntakeScreen builds it from a typical
// request (the bench's: a 64-byte text input, an `output` tag), is counted exactly here: every
// operator new of this binary records its size, and the test sums what destroying the Job
// frees. A budget catches growth; a long prompt shows that it is kept once in the parsed request
// beside the request's JSON (not a third time in the generation parameters).
// Not counted in sanitizer builds (they replace operator new themselves).
#include "engine/job.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <new>
#include <string>

#include "engine/intake_screen.hpp"
#include "provider_test_keys.hpp"
#include "reactor/sanitizer.hpp"

#define PYLON_COUNT_ALLOCATIONS (PYLON_UNDER_SANITIZER == 0)

namespace {
thread_local bool counting = false;
thread_local std::size_t freed_bytes = 0;
}  // namespace

#if PYLON_COUNT_ALLOCATIONS
namespace {
// Each block carries its requested size in a header (aligned like malloc's blocks).
constexpr std::size_t header_bytes = alignof(std::max_align_t);
}  // namespace

// The replacements pair malloc with free; g++ cannot see that they match.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void* operator new(std::size_t size) {
    auto* base = static_cast<unsigned char*>(std::malloc(size + header_bytes));
    if (base == nullptr) {
        throw std::bad_alloc();
    }
    *reinterpret_cast<std::size_t*>(base) = size;
    return base + header_bytes;
}
void operator delete(void* p) noexcept {
    if (p == nullptr) {
        return;
    }
    unsigned char* base = static_cast<unsigned char*>(p) - header_bytes;
    if (counting) {
        freed_bytes += *reinterpret_cast<std::size_t*>(base);
    }
    std::free(base);
}
void operator delete(void* p, std::size_t) noexcept {
    operator delete(p);
}
#endif

namespace pylon::engine {
namespace {

using testing::job_request;
using testing::test_key;

// The bench's requests (tools/pylon_bench/load_gen.cpp): kind 5050, one text input, `output`.
std::string bench_prompt(std::size_t bytes) {
    std::string p = "bench request 1234: say something";
    while (p.size() < bytes) {
        p += " and more";
    }
    p.resize(bytes);
    return p;
}

// What destroying the Job built from a bench request with a prompt of `prompt_bytes` frees
// (the Job itself included): the heap it held while it waited in the runner's queue.
std::size_t queued_job_bytes(std::size_t prompt_bytes) {
    reactor::ManualClock clock;
    Config config;
    config.relays = {"ws://127.0.0.1:40001"};
    BackendDirectory directory;
    BackendView v;
    v.kind = BackendKind::ollama;
    v.available = true;
    v.models = {"llama3.2:latest"};
    directory.backends.push_back(v);
    IntakeScreen screen(test_key('1'), clock, IntakePolicy::from(config, 1), 1000);
    proto::Event e =
        job_request(test_key('2'), clock.unix_s() - 1,
                    {{"i", bench_prompt(prompt_bytes), "text"}, {"output", "text/plain"}});
    Screened s = screen.screen(e, "ws://127.0.0.1:40001", &directory, true);
    EXPECT_EQ(s.verdict, Screened::Verdict::accept) << s.message;
    EXPECT_EQ(s.job != nullptr ? s.job->prompt().size() : 0, bench_prompt(prompt_bytes).size());
    counting = true;
    freed_bytes = 0;
    s.job.reset();
    counting = false;
    return freed_bytes;
}

TEST(Job, AQueuedJobOfATypicalRequestStaysSmall) {
    if (!PYLON_COUNT_ALLOCATIONS) {
        GTEST_SKIP() << "allocations are not counted under sanitizers";
    }
    // 680 bytes of Job, ~470 of request JSON, the parsed input (the prompt once), the job id and
    // the relay hint: ~1.4 KB (~1.55 KB when the prompt and the hex request id were kept twice).
    std::size_t bytes = queued_job_bytes(64);
    EXPECT_LE(sizeof(Job), 680u);
    EXPECT_GT(bytes, sizeof(Job));
    EXPECT_LE(bytes, 1400u);
}

TEST(Job, ThePromptIsKeptOnceBesideTheRequestJson) {
    if (!PYLON_COUNT_ALLOCATIONS) {
        GTEST_SKIP() << "allocations are not counted under sanitizers";
    }
    std::size_t small = queued_job_bytes(64);
    std::size_t large = queued_job_bytes(8064);
    ASSERT_GT(large, small);
    // 8,000 more prompt bytes: in the request's JSON and in its parsed text input, no more
    // (give or take the strings' spare capacity); a third copy would add 8,000 more.
    EXPECT_GE(large - small, 2 * 8000u - 512u);
    EXPECT_LE(large - small, 2 * 8000u + 2000u);
}

}  // namespace
}  // namespace pylon::engine
