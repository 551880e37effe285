// Hex: lowercase hexadecimal encoding and strict decoding of byte strings (ids, keys,
// signatures). Decoding into a fixed-size span is allocation-free; by default only lowercase is
// accepted, as NIP-01 requires. Pure functions: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace pylon::proto {

enum class HexCase : uint8_t { lower_only, any };

// Appends 2*bytes.size() lowercase hex characters to out.
void hex_append(std::string& out, std::span<const uint8_t> bytes);

// Writes 2*bytes.size() lowercase hex characters to out (which must have room for them).
void hex_write(char* out, std::span<const uint8_t> bytes) noexcept;

std::string hex_encode(std::span<const uint8_t> bytes);

// The lowercase hex of N bytes in a buffer of its own (no allocation): an id or key written
// into a tag or a log line. view() is valid while the HexText lives.
template <size_t N>
class HexText {
  public:
    explicit HexText(std::span<const uint8_t, N> bytes) noexcept { hex_write(text_, bytes); }
    std::string_view view() const noexcept { return {text_, sizeof text_}; }

  private:
    char text_[2 * N];
};

// hex_of(id).view(): the hex of a fixed-size id or key without a heap string.
template <size_t N>
HexText<N> hex_of(const std::array<uint8_t, N>& bytes) noexcept {
    return HexText<N>(std::span<const uint8_t, N>(bytes));
}

// Decodes exactly out.size() bytes from text; false if text is not 2*out.size() hex characters.
[[nodiscard]] bool hex_decode(std::string_view text, std::span<uint8_t> out,
                              HexCase accepted = HexCase::lower_only) noexcept;

// Decodes a hex string of any even length (test vectors); false on a bad character or length.
[[nodiscard]] bool hex_decode_vector(std::string_view text, std::vector<uint8_t>& out,
                                     HexCase accepted = HexCase::any);

}  // namespace pylon::proto
