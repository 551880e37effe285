// SecretBytes<N>: a fixed-size byte array for secret material (keys, seeds, chain codes, shared
// secrets) that is wiped with OPENSSL_cleanse when destroyed or overwritten. Copying is explicit
// (copy constructor allowed, each copy wipes itself); prefer moves. Owned by whoever holds it;
// no thread affinity.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>

#include <openssl/crypto.h>

namespace pylon::proto {

template <size_t N>
class SecretBytes {
  public:
    SecretBytes() noexcept { bytes_.fill(0); }
    explicit SecretBytes(std::span<const uint8_t, N> bytes) noexcept {
        std::memcpy(bytes_.data(), bytes.data(), N);
    }
    SecretBytes(const SecretBytes& other) noexcept : bytes_(other.bytes_) {}
    SecretBytes& operator=(const SecretBytes& other) noexcept {
        bytes_ = other.bytes_;
        return *this;
    }
    ~SecretBytes() { wipe(); }

    void wipe() noexcept { OPENSSL_cleanse(bytes_.data(), N); }

    uint8_t* data() noexcept { return bytes_.data(); }
    const uint8_t* data() const noexcept { return bytes_.data(); }
    static constexpr size_t size() noexcept { return N; }
    std::span<uint8_t, N> span() noexcept { return std::span<uint8_t, N>(bytes_); }
    std::span<const uint8_t, N> span() const noexcept {
        return std::span<const uint8_t, N>(bytes_);
    }
    uint8_t& operator[](size_t i) noexcept { return bytes_[i]; }
    uint8_t operator[](size_t i) const noexcept { return bytes_[i]; }

  private:
    std::array<uint8_t, N> bytes_;
};

// Wipes a byte range (a std::string or vector that held a secret).
inline void wipe_bytes(void* data, size_t size) noexcept {
    OPENSSL_cleanse(data, size);
}

}  // namespace pylon::proto
