// RandomSource: where proto/ gets random bytes (BIP-340 aux randomness, NIP-44 nonces, NIP-04
// IVs, new mnemonics). Injected so tests can reproduce published vectors: the production source
// is csprng() (the kernel's getrandom(2), thread-safe, process-wide); FixedRandom repeats a given
// byte pattern (all zeros reproduces the signatures in ../shared/vectors). A FixedRandom belongs to
// its creator and is not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace pylon::proto {

class RandomSource {
  public:
    virtual ~RandomSource() = default;
    // Fills out completely. The production source aborts if the CSPRNG fails: signing or
    // encrypting with predictable bytes is worse than stopping.
    virtual void fill(std::span<uint8_t> out) noexcept = 0;
};

// The process-wide CSPRNG (getrandom(2)). Safe from any thread.
RandomSource& csprng() noexcept;

// Repeats pattern (or zeros if empty) cyclically. For tests and vectors only.
class FixedRandom final : public RandomSource {
  public:
    FixedRandom() = default;
    explicit FixedRandom(std::vector<uint8_t> pattern) : pattern_(std::move(pattern)) {}
    void fill(std::span<uint8_t> out) noexcept override;

  private:
    std::vector<uint8_t> pattern_;
    size_t next_ = 0;
};

}  // namespace pylon::proto
