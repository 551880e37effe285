// The BIP-39 English wordlist (2048 words, sorted), compiled into the binary from
// proto/data/bip39-english.txt by CMake at configure time. Immutable data: any thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pylon::proto {

inline constexpr size_t bip39_word_count = 2048;

const std::array<std::string_view, bip39_word_count>& bip39_english_words() noexcept;

// The index of word in the list (exact, lowercase match), if it is there.
std::optional<uint16_t> bip39_word_index(std::string_view word) noexcept;

}  // namespace pylon::proto
