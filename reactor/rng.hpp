// Rng: a small seeded PRNG (xoshiro256**) for jitter, sampling and simulations. Not for secrets:
// keys, nonces and Schnorr aux randomness come from the OS CSPRNG (see proto/). Seed it from a
// test's seed to replay a failure. One Rng per owner; not thread-safe.
#pragma once

#include <cstdint>

namespace pylon::reactor {

class Rng {
  public:
    explicit Rng(std::uint64_t seed) {
        // splitmix64 expands the seed into the state.
        for (auto& word : s_) {
            seed += 0x9e3779b97f4a7c15ULL;
            std::uint64_t z = seed;
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
            z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
            word = z ^ (z >> 31);
        }
    }

    std::uint64_t next() noexcept {
        const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const std::uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, bound) (bound > 0); the tiny modulo bias is irrelevant for jitter.
    std::uint64_t below(std::uint64_t bound) noexcept { return next() % bound; }

    // Uniform double in [0, 1).
    double unit() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  private:
    static std::uint64_t rotl(std::uint64_t x, int k) noexcept {
        return (x << k) | (x >> (64 - k));
    }
    std::uint64_t s_[4]{};
};

}  // namespace pylon::reactor
