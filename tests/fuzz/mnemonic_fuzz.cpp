// Fuzzes BIP-39 phrase checking: hostile text never crashes; an accepted phrase parses,
// normalises, and re-encodes from its entropy to the same words; a rejected unknown word names a
// position inside the phrase.
#include "proto/mnemonic.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = pylon::fuzz::as_text(data, size);
    MnemonicCheck c = Mnemonic::check(text);
    (void)c.message();
    if (c.error == MnemonicError::unknown_word) {
        FUZZ_CHECK(c.word_position >= 1 && c.word_position <= c.word_count);
    }
    auto parsed = Mnemonic::parse(text);
    FUZZ_CHECK(parsed.ok() == c.ok());
    if (parsed.ok()) {
        FUZZ_CHECK(Mnemonic::from_entropy(parsed->entropy()).phrase() == parsed->phrase());
    }
    return 0;
}
