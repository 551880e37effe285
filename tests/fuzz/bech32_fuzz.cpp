// Fuzzes NIP-19/bech32 decoding: hostile strings never crash; a decoded npub/nsec/note
// re-encodes to the lowercase input.
#include "proto/bech32.hpp"
#include "proto/nip19.hpp"
#include "tests/fuzz/fuzz_support.hpp"

using namespace pylon::proto;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text = pylon::fuzz::as_text(data, size);
    std::string hrp;
    std::vector<uint8_t> bytes;
    if (bech32_decode(text, 5000, hrp, bytes) == Reject::none) {
        std::string lower(text);
        for (char& c : lower) {
            c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
        }
        FUZZ_CHECK(bech32_encode(hrp, bytes) == lower);
    }
    Nip19 out;
    if (nip19_decode(text, out) == Reject::none && out.kind == Nip19Kind::npub) {
        FUZZ_CHECK(bech32_decode(npub_encode(PublicKey(out.bytes.span())), 5000, hrp, bytes) ==
                   Reject::none);
    }
    PublicKey pk;
    (void)parse_pubkey_text(text, pk);
    return 0;
}
