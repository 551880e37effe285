// Fuzzes NIP-44 v2 decryption with a fixed conversation key: hostile payloads never crash, and
// the cheap bounds hold (nothing longer than 65535 bytes comes out).
#include "proto/nip44.hpp"
#include "proto/payload_cipher.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Nip44ConversationKey key = [] {
        Nip44ConversationKey k;
        (void)nip44_conversation_key(pylon::fuzz::provider_keys().secret(),
                                     pylon::fuzz::customer_keys().public_key(), k);
        return k;
    }();
    std::string_view payload = pylon::fuzz::as_text(data, size);
    std::string plain;
    if (nip44_decrypt(key, payload, plain) == Reject::none) {
        FUZZ_CHECK(!plain.empty() && plain.size() <= nip44_plaintext_bytes_max);
    } else {
        FUZZ_CHECK(plain.empty());
    }
    // Round trip of the input as a plaintext.
    if (size >= 1 && size <= 4096) {
        std::string p;
        FixedRandom zeros;
        FUZZ_CHECK(nip44_encrypt(key, payload, zeros, p) == Reject::none);
        FUZZ_CHECK(p.size() == nip44_payload_chars(size));
        FUZZ_CHECK(nip44_decrypt(key, p, plain) == Reject::none && plain == payload);
    }
    return 0;
}
