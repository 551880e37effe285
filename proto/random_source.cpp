#include "proto/random_source.hpp"

#include <openssl/rand.h>

#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

class Csprng final : public RandomSource {
  public:
    void fill(std::span<uint8_t> out) noexcept override {
        int ok = RAND_bytes(out.data(), static_cast<int>(out.size()));
        PYLON_ASSERT_MSG(ok == 1, "RAND_bytes failed");
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
