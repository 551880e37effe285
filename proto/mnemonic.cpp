#include "proto/mnemonic.hpp"

#include <array>

#include "proto/bip39_wordlist.hpp"
#include "proto/digest.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

constexpr size_t k_bits_per_word = 11;
constexpr size_t k_word_echo_bytes_max = 32;
constexpr size_t k_words_max = 24;

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Splits on ASCII whitespace, lowercasing ASCII letters. Stops after words_max + 1 words.
std::vector<std::string> split_words(std::string_view phrase) {
    std::vector<std::string> words;
    size_t i = 0;
    while (i < phrase.size() && words.size() <= k_words_max) {
        while (i < phrase.size() && is_space(phrase[i])) {
            ++i;
        }
        if (i == phrase.size()) {
            break;
        }
        std::string w;
        while (i < phrase.size() && !is_space(phrase[i])) {
            char c = phrase[i++];
            w.push_back((c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c);
        }
        words.push_back(std::move(w));
    }
    return words;
}

bool valid_count(size_t n) {
    return n >= 12 && n <= 24 && n % 3 == 0;
}

std::string suggest(std::string_view word) {
    if (word.size() < 4) {
        return {};
    }
    std::string found;
    for (std::string_view candidate : bip39_english_words()) {
        if (candidate.substr(0, 4) == word.substr(0, 4)) {
            if (!found.empty()) {
                return {};
            }
            found = std::string(candidate);
        }
    }
    return found;
}

// Packs word indexes into bits; returns entropy bytes and whether the checksum matches.
bool unpack(const std::vector<uint16_t>& indexes, std::vector<uint8_t>& entropy) {
    size_t total_bits = indexes.size() * k_bits_per_word;
    size_t checksum_bits = total_bits / 33;
    size_t entropy_bits = total_bits - checksum_bits;
    std::array<uint8_t, 33> bits{};  // up to 264 bits
    for (size_t w = 0; w < indexes.size(); ++w) {
        for (size_t b = 0; b < k_bits_per_word; ++b) {
            if ((indexes[w] >> (k_bits_per_word - 1 - b)) & 1) {
                size_t pos = w * k_bits_per_word + b;
                bits[pos / 8] = static_cast<uint8_t>(bits[pos / 8] | (0x80 >> (pos % 8)));
            }
        }
    }
    entropy.assign(bits.begin(), bits.begin() + static_cast<ptrdiff_t>(entropy_bits / 8));
    Sha256 hash = sha256(entropy);
    uint8_t expected = static_cast<uint8_t>(hash[0] >> (8 - checksum_bits));
    uint8_t got = static_cast<uint8_t>(bits[entropy_bits / 8] >> (8 - checksum_bits));
    wipe_bytes(bits.data(), bits.size());
    return expected == got;
}

}  // namespace

std::string MnemonicCheck::message() const {
    switch (error) {
        case MnemonicError::none:
            return "valid mnemonic";
        case MnemonicError::word_count:
            return "expected 12, 15, 18, 21 or 24 words, got " + std::to_string(word_count);
        case MnemonicError::unknown_word: {
            std::string m = "word " + std::to_string(word_position) + " (\"" + word +
                            "\") is not in the BIP-39 English wordlist";
            if (!suggestion.empty()) {
                m += "; did you mean \"" + suggestion + "\"?";
            }
            return m;
        }
        case MnemonicError::checksum:
            return "checksum mismatch: every word is in the list, but one is wrong or out of "
                   "order (word " +
                   std::to_string(word_position) + " carries the checksum)";
    }
    return "invalid mnemonic";
}

Mnemonic::~Mnemonic() {
    wipe_bytes(phrase_.data(), phrase_.size());
}

Mnemonic& Mnemonic::operator=(const Mnemonic& other) {
    if (this != &other) {
        wipe_bytes(phrase_.data(), phrase_.size());
        phrase_ = other.phrase_;
    }
    return *this;
}

Mnemonic& Mnemonic::operator=(Mnemonic&& other) noexcept {
    if (this != &other) {
        wipe_bytes(phrase_.data(), phrase_.size());
        phrase_ = std::move(other.phrase_);
    }
    return *this;
}

Mnemonic Mnemonic::from_entropy(std::span<const uint8_t> entropy) {
    PYLON_ASSERT(entropy.size() >= entropy_bytes_min && entropy.size() <= entropy_bytes_max &&
                 entropy.size() % 4 == 0);
    size_t entropy_bits = entropy.size() * 8;
    size_t words = (entropy_bits + entropy_bits / 32) / k_bits_per_word;
    Sha256 hash = sha256(entropy);
    auto bit = [&](size_t pos) -> unsigned {
        uint8_t byte = pos < entropy_bits ? entropy[pos / 8] : hash[(pos - entropy_bits) / 8];
        return (static_cast<unsigned>(byte) >> (7 - pos % 8)) & 1u;
    };
    std::string phrase;
    for (size_t w = 0; w < words; ++w) {
        unsigned index = 0;
        for (size_t b = 0; b < k_bits_per_word; ++b) {
            index = (index << 1) | bit(w * k_bits_per_word + b);
        }
        if (w > 0) {
            phrase.push_back(' ');
        }
        phrase.append(bip39_english_words()[index]);
    }
    return Mnemonic(std::move(phrase));
}

Mnemonic Mnemonic::generate(size_t word_count, RandomSource& random) {
    PYLON_ASSERT(valid_count(word_count));
    SecretBytes<entropy_bytes_max> entropy;
    size_t bytes = word_count * k_bits_per_word * 32 / 33 / 8;
    random.fill(std::span<uint8_t>(entropy.data(), bytes));
    return from_entropy(std::span<const uint8_t>(entropy.data(), bytes));
}

MnemonicCheck Mnemonic::check(std::string_view phrase) {
    MnemonicCheck out;
    std::vector<std::string> words = split_words(phrase.substr(0, input_bytes_max));
    out.word_count = words.size();
    if (!valid_count(words.size()) || phrase.size() > input_bytes_max) {
        out.error = MnemonicError::word_count;
        return out;
    }
    std::vector<uint16_t> indexes;
    for (size_t i = 0; i < words.size(); ++i) {
        auto index = bip39_word_index(words[i]);
        if (!index) {
            out.error = MnemonicError::unknown_word;
            out.word_position = i + 1;
            out.word = words[i].substr(0, k_word_echo_bytes_max);
            out.suggestion = suggest(words[i]);
            return out;
        }
        indexes.push_back(*index);
    }
    std::vector<uint8_t> entropy;
    if (!unpack(indexes, entropy)) {
        out.error = MnemonicError::checksum;
        out.word_position = words.size();
    }
    wipe_bytes(entropy.data(), entropy.size());
    for (std::string& w : words) {
        wipe_bytes(w.data(), w.size());
    }
    return out;
}

Result<Mnemonic> Mnemonic::parse(std::string_view phrase) {
    MnemonicCheck c = check(phrase);
    if (!c.ok()) {
        return Error(Errc::invalid_input, c.message());
    }
    std::vector<std::string> words = split_words(phrase);
    std::string normal;
    for (std::string& w : words) {
        if (!normal.empty()) {
            normal.push_back(' ');
        }
        normal.append(w);
        wipe_bytes(w.data(), w.size());
    }
    return Mnemonic(std::move(normal));
}

size_t Mnemonic::word_count() const noexcept {
    size_t n = phrase_.empty() ? 0 : 1;
    for (char c : phrase_) {
        n += c == ' ' ? 1 : 0;
    }
    return n;
}

std::vector<uint8_t> Mnemonic::entropy() const {
    std::vector<uint16_t> indexes;
    for (const std::string& w : split_words(phrase_)) {
        auto index = bip39_word_index(w);
        PYLON_ASSERT(index.has_value());
        indexes.push_back(*index);
    }
    std::vector<uint8_t> out;
    bool ok = unpack(indexes, out);
    PYLON_ASSERT(ok);
    return out;
}

Result<SecretBytes<64>> Mnemonic::seed(std::string_view passphrase) const {
    for (char c : passphrase) {
        if (c < 0x20 || c > 0x7e) {
            return Error(Errc::invalid_input,
                         "the BIP-39 passphrase must be printable ASCII (no NFKD normalisation)");
        }
    }
    std::string salt = "mnemonic";
    salt.append(passphrase);
    SecretBytes<64> out;
    pbkdf2_sha512(
        phrase_,
        std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(salt.data()), salt.size()),
        seed_rounds, out.span());
    wipe_bytes(salt.data(), salt.size());
    return out;
}

}  // namespace pylon::proto
