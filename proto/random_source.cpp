#include "proto/random_source.hpp"

#include <sys/random.h>

#include <cerrno>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

class Csprng final : public RandomSource {
  public:
    // getrandom(2) rather than OpenSSL's RAND_bytes: the kernel CSPRNG is what OpenSSL seeds
    // from, and RAND_bytes would start OpenSSL's provider machinery (~2 MB of libcrypto in the
    // node's RSS) for the 32 bytes of a signature's aux randomness. Bounded retries on EINTR.
    void fill(std::span<uint8_t> out) noexcept override {
        std::size_t done = 0;
        for (int attempts = 0; done < out.size() && attempts < fill_attempts_max; attempts++) {
            ssize_t got = ::getrandom(out.data() + done, out.size() - done, 0);
            if (got > 0) {
                done += static_cast<std::size_t>(got);
            } else {
                PYLON_ASSERT_MSG(got == 0 || errno == EINTR, "getrandom failed");
            }
        }
        PYLON_ASSERT_MSG(done == out.size(), "getrandom returned too few bytes");
    }

  private:
    static constexpr int fill_attempts_max = 64;
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
