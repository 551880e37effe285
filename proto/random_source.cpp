#include "proto/random_source.hpp"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr int fill_attempts_max = 64;

// getrandom(2) rather than OpenSSL's RAND_bytes: the kernel CSPRNG is what OpenSSL seeds from,
// and RAND_bytes would start OpenSSL's provider machinery (~2 MB of libcrypto in the node's RSS)
// for the 32 bytes of a signature's aux randomness. Bounded retries on EINTR.
void getrandom_fill(std::uint8_t* out, std::size_t bytes) noexcept {
    std::size_t done = 0;
    for (int attempts = 0; done < bytes && attempts < fill_attempts_max; attempts++) {
        ssize_t got = ::getrandom(out + done, bytes - done, 0);
        if (got > 0) {
            done += static_cast<std::size_t>(got);
        } else {
            PYLON_ASSERT_MSG(got == 0 || errno == EINTR, "getrandom failed");
        }
    }
    PYLON_ASSERT_MSG(done == bytes, "getrandom returned too few bytes");
}

// A syscall per signature's 32 aux bytes is a fixed cost twice per job, so small requests are
// served from a per-thread reserve filled reserve_bytes at a time; each byte handed out is wiped
// from the reserve. A fork (counted by a pthread_atfork handler) discards the reserve, so parent
// and child never hand out the same bytes.
constexpr std::size_t reserve_bytes = 1024;
constexpr std::size_t reserve_request_bytes_max = 64;  // larger requests: getrandom directly

std::atomic<std::uint64_t> fork_generation{0};

void note_fork() noexcept {
    fork_generation.fetch_add(1, std::memory_order_relaxed);
}

struct Reserve {
    std::array<std::uint8_t, reserve_bytes> bytes{};
    std::size_t used = reserve_bytes;  // nothing left until the first fill
    std::uint64_t generation = 0;
    Reserve() = default;
    Reserve(const Reserve&) = delete;
    Reserve& operator=(const Reserve&) = delete;
    ~Reserve() { ::explicit_bzero(bytes.data(), bytes.size()); }
};

class Csprng final : public RandomSource {
  public:
    Csprng() {
        int rc = pthread_atfork(nullptr, nullptr, &note_fork);
        PYLON_ASSERT_MSG(rc == 0, "pthread_atfork failed");
    }
    void fill(std::span<uint8_t> out) noexcept override {
        if (out.size() > reserve_request_bytes_max) {
            getrandom_fill(out.data(), out.size());
            return;
        }
        thread_local Reserve r;
        std::uint64_t generation = fork_generation.load(std::memory_order_relaxed);
        if (r.generation != generation || reserve_bytes - r.used < out.size()) {
            getrandom_fill(r.bytes.data(), r.bytes.size());
            r.used = 0;
            r.generation = generation;
        }
        std::memcpy(out.data(), r.bytes.data() + r.used, out.size());
        ::explicit_bzero(r.bytes.data() + r.used, out.size());
        r.used += out.size();
    }
};

}  // namespace

RandomSource& csprng() noexcept {
    static Csprng source;
    return source;
}

void FixedRandom::fill(std::span<uint8_t> out) noexcept {
    for (auto& b : out) {
        if (pattern_.empty()) {
            b = 0;
            continue;
        }
        b = pattern_[next_];
        next_ = (next_ + 1) % pattern_.size();
    }
}

}  // namespace pylon::proto
