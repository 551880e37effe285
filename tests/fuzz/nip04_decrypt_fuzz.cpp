// Fuzzes NIP-04 decryption (and the scheme detection in front of both ciphers) with fixed keys:
// hostile payloads never crash; the input as a plaintext round-trips.
#include "proto/nip04.hpp"
#include "proto/payload_cipher.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static Nip04Key key = [] {
        Nip04Key k;
        (void)nip04_shared_key(pylon::fuzz::provider_keys().secret(),
                               pylon::fuzz::customer_keys().public_key(), k);
        return k;
    }();
    std::string_view payload = pylon::fuzz::as_text(data, size);
    std::string plain;
    (void)nip04_decrypt(key, payload, plain, 131072);
    if (detect_cipher(payload) == Cipher::nip04 && size < 512) {
        Cipher used = Cipher::none;
        (void)decrypt_payload(pylon::fuzz::provider_keys().secret(),
                              pylon::fuzz::customer_keys().public_key(), payload, plain, used);
        FUZZ_CHECK(used == Cipher::nip04);
    }
    if (size <= 4096) {
        std::string p;
        FixedRandom zeros;
        nip04_encrypt(key, payload, zeros, p);
        FUZZ_CHECK(p.size() == nip04_payload_chars(size));
        FUZZ_CHECK(nip04_decrypt(key, p, plain, 131072) == Reject::none && plain == payload);
    }
    return 0;
}
