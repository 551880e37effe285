// Clock: the source of time for policy code (backoff, rate limits, windows), injected so tests
// can use a ManualClock. Monotonic time for durations and deadlines; wall time (unix) for what
// is written to the wire or the database. SystemClock is stateless and safe from any thread; a
// ManualClock belongs to the test that drives it.
#pragma once

#include <cstdint>
#include <ctime>

namespace pylon::reactor {

inline std::int64_t monotonic_ns() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
inline std::int64_t monotonic_ms() noexcept {
    return monotonic_ns() / 1'000'000;
}
inline std::int64_t monotonic_us() noexcept {
    return monotonic_ns() / 1'000;
}

inline std::int64_t unix_ms() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1'000'000;
}

class Clock {
  public:
    virtual ~Clock() = default;
    virtual std::int64_t now_ms() const = 0;   // monotonic
    virtual std::int64_t unix_ms() const = 0;  // wall clock
    std::int64_t unix_s() const { return unix_ms() / 1000; }
};

class SystemClock final : public Clock {
  public:
    std::int64_t now_ms() const override { return monotonic_ms(); }
    std::int64_t unix_ms() const override { return ::pylon::reactor::unix_ms(); }
    static SystemClock& instance() {
        static SystemClock clock;
        return clock;
    }
};

class ManualClock final : public Clock {
  public:
    explicit ManualClock(std::int64_t now_ms = 0, std::int64_t unix_ms = 1'700'000'000'000)
        : now_ms_(now_ms), unix_ms_(unix_ms) {}
    std::int64_t now_ms() const override { return now_ms_; }
    std::int64_t unix_ms() const override { return unix_ms_; }
    void advance_ms(std::int64_t ms) {
        now_ms_ += ms;
        unix_ms_ += ms;
    }

  private:
    std::int64_t now_ms_;
    std::int64_t unix_ms_;
};

}  // namespace pylon::reactor
