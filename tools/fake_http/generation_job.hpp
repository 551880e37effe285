// GenerationJob: the life of one generation request inside a fake backend, shared by the Ollama
// and llama-server fakes (which differ only in how they format what it produces). It admits the
// request (in_flight accounting, an optional in-flight bound), waits for a slot in FIFO order,
// then runs the token loop with the configured first-token delay and per-token gaps, injects the
// mid-stream faults, notices the client closing at every wait, and records the outcome in
// FakeStats. Optional keep-alive pings (SSE comments) go out whenever the stream has been silent
// for ping_ms. Lives on one connection thread for one request.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "tools/fake_http/fake_config.hpp"
#include "tools/fake_http/fake_stats.hpp"
#include "tools/fake_http/http_server.hpp"
#include "tools/fake_http/slot_pool.hpp"

namespace pylon::fake {

enum class JobEnd : std::uint8_t {
    completed,      // every token was emitted; the caller writes its final line/event
    client_closed,  // the client went away (counted)
    stopping,       // the server is shutting down
    fault_error,    // error-mid-stream: the caller writes the error line/event
    fault_reset,    // reset-mid-stream: the connection has been reset
};

class GenerationJob {
  public:
    using Clock = std::chrono::steady_clock;
    // Called with the token index and its text; false when the write failed.
    using Emit = std::function<bool(int index, const std::string& piece)>;
    // Writes a keep-alive ping; false when the write failed.
    using Ping = std::function<bool()>;

    GenerationJob(const FakeConfig& cfg, FakeStats& stats, SlotPool& slots, Connection& conn);
    GenerationJob(const GenerationJob&) = delete;
    GenerationJob& operator=(const GenerationJob&) = delete;
    ~GenerationJob();  // releases the slot and the admission

    // Admission: false when in_flight is at in_flight_max (negative = no bound).
    bool admit(std::int64_t in_flight_max);
    // FIFO wait for a slot; false (and counted) when the client left or the server stops.
    bool acquire_slot();
    int slot() const { return slot_; }

    void set_ping(Ping ping, int ping_ms);
    // Marks that bytes went out now (resets the ping timer).
    void note_write() { last_write_ = Clock::now(); }

    // The token loop for `tokens` tokens. Counts the stream as started; on client close,
    // counts it as cancelled; on an injected fault, as failed (and resets for fault_reset).
    // The caller counts completion with completed() after writing its final line.
    JobEnd run(int tokens, const Emit& emit);
    void completed();

    // Timings for the final line (milliseconds; zero before the events happened).
    double prompt_ms() const;     // slot acquired -> first token
    double predicted_ms() const;  // first token -> last token
    double total_ms() const;      // admitted -> now
    int produced() const { return produced_; }

  private:
    Wait wait(int ms);

    const FakeConfig& cfg_;
    FakeStats& stats_;
    SlotPool& slots_;
    Connection& conn_;
    bool admitted_ = false;
    int slot_ = -1;
    int produced_ = 0;
    Ping ping_;
    int ping_ms_ = 0;
    Clock::time_point admitted_at_{};
    Clock::time_point slot_at_{};
    Clock::time_point first_token_at_{};
    Clock::time_point last_token_at_{};
    Clock::time_point last_write_{};
};

}  // namespace pylon::fake
