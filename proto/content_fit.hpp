// ContentFit: puts a response's content into an Event without letting the event grow past
// Limits::event_bytes_max (strfry's 65536-byte maxEventSize), optionally encrypted for the
// customer. The text is sanitised (see utf8.hpp), then the longest prefix that fits is kept, cut
// at a code point boundary; for encrypted content the budget accounts for the cipher's expansion
// (NIP-44 padding + base64, NIP-04 PKCS#7 + base64). Used by the NIP-90 result and feedback
// builders. Pure function; any thread.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "proto/event.hpp"
#include "proto/keys.hpp"
#include "proto/payload_cipher.hpp"
#include "proto/random_source.hpp"
#include "proto/reject.hpp"

namespace pylon::proto {

struct ContentFit {
    Cipher cipher = Cipher::none;
    const Keypair* keys = nullptr;  // required when cipher != none
    const PublicKey* peer = nullptr;
    RandomSource* random = nullptr;
    size_t event_bytes_max = 65536;
    // Builds the plaintext to encrypt from a prefix of the text (identity when empty).
    std::function<std::string(std::string_view)> make_plaintext;
};

// Sets out's content. truncated tells whether the text was cut. Reject::event_too_large when
// not even an empty content fits (the tags alone are too large).
Reject fit_content(Event& out, std::string_view text, const ContentFit& fit, bool& truncated);

}  // namespace pylon::proto
