// Mnemonic: a BIP-39 English mnemonic phrase (the node's identity backup). Generates phrases
// from CSPRNG entropy (12/15/18/21/24 words), checks typed-in phrases (word count, every word in
// the compiled-in English list, checksum) with an error that names the bad word's 1-based
// position, and derives the 64-byte seed with PBKDF2-HMAC-SHA512, 2048 rounds. NFKD: the English
// words are ASCII (NFKD is the identity on them), and passphrases are restricted to printable
// ASCII, so no Unicode normalisation is needed; a non-ASCII passphrase is an error, never
// silently different from another wallet's seed. The phrase is secret: a Mnemonic wipes it when
// destroyed. Values; any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/random_source.hpp"
#include "proto/secret.hpp"
#include "reactor/result.hpp"

namespace pylon::proto {

enum class MnemonicError : uint8_t { none, word_count, unknown_word, checksum };

// The outcome of checking a phrase; message() is what a human reads.
struct MnemonicCheck {
    MnemonicError error = MnemonicError::none;
    size_t word_count = 0;     // words found in the input
    size_t word_position = 0;  // 1-based position of the unknown word (or the checksum word)
    std::string word;          // the unknown word (at most 32 bytes of it)
    std::string suggestion;    // a list word sharing its first 4 letters, if exactly one does

    bool ok() const noexcept { return error == MnemonicError::none; }
    std::string message() const;
};

class Mnemonic {
  public:
    static constexpr size_t entropy_bytes_min = 16;
    static constexpr size_t entropy_bytes_max = 32;
    static constexpr uint32_t seed_rounds = 2048;
    static constexpr size_t input_bytes_max = 1024;  // a 24-word phrase is at most 215 bytes

    // entropy is 16, 20, 24, 28 or 32 bytes (asserted).
    static Mnemonic from_entropy(std::span<const uint8_t> entropy);
    // word_count is 12, 15, 18, 21 or 24 (asserted).
    static Mnemonic generate(size_t word_count, RandomSource& random);
    // Checks and normalises (lowercase, single spaces) a typed or stored phrase.
    static Result<Mnemonic> parse(std::string_view phrase);
    static MnemonicCheck check(std::string_view phrase);

    Mnemonic(const Mnemonic& other) = default;
    Mnemonic(Mnemonic&& other) noexcept = default;
    Mnemonic& operator=(const Mnemonic& other);  // wipes the old phrase first
    Mnemonic& operator=(Mnemonic&& other) noexcept;
    ~Mnemonic();

    const std::string& phrase() const noexcept { return phrase_; }
    size_t word_count() const noexcept;
    // The entropy the phrase encodes.
    std::vector<uint8_t> entropy() const;
    // PBKDF2-HMAC-SHA512(phrase, "mnemonic" + passphrase, 2048). The passphrase must be
    // printable ASCII (see above).
    Result<SecretBytes<64>> seed(std::string_view passphrase) const;

  private:
    explicit Mnemonic(std::string phrase) : phrase_(std::move(phrase)) {}
    std::string phrase_;
};

}  // namespace pylon::proto
