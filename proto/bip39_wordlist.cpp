#include "proto/bip39_wordlist.hpp"

#include <algorithm>
#include <cstdint>

namespace pylon::proto {

std::optional<uint16_t> bip39_word_index(std::string_view word) noexcept {
    const auto& words = bip39_english_words();
    auto it = std::lower_bound(words.begin(), words.end(), word);
    if (it == words.end() || *it != word) {
        return std::nullopt;
    }
    return static_cast<uint16_t>(it - words.begin());
}

}  // namespace pylon::proto
