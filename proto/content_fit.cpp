#include "proto/content_fit.hpp"

#include "proto/json_writer.hpp"
#include "proto/nip44.hpp"
#include "proto/secret.hpp"
#include "proto/utf8.hpp"
#include "reactor/assert.hpp"

namespace pylon::proto {
namespace {

std::string plaintext_of(const ContentFit& fit, std::string_view prefix) {
    return fit.make_plaintext ? fit.make_plaintext(prefix) : std::string(prefix);
}

bool encrypted_fits(const ContentFit& fit, std::string_view prefix, size_t budget) {
    std::string p = plaintext_of(fit, prefix);
    size_t size = p.size();
    wipe_bytes(p.data(), p.size());
    if (size == 0) {
        return true;
    }
    if (fit.cipher == Cipher::nip44 && size > nip44_plaintext_bytes_max) {
        return false;
    }
    return cipher_payload_chars(fit.cipher, size) + 2 <= budget;  // base64 needs no escapes
}

}  // namespace

Reject fit_content(Event& out, std::string_view text, const ContentFit& fit, bool& truncated) {
    truncated = false;
    out.set_content("");
    // The usual case first: when the text fits even with every byte escaped to six (sanitising
    // makes at most three of one), nothing needs measuring.
    if (fit.cipher == Cipher::none &&
        out.json_bytes_bound() + 6 * text.size() <= fit.event_bytes_max) {
        out.set_content(text);
        return Reject::none;
    }
    size_t base = out.json_bytes();
    if (base > fit.event_bytes_max) {
        return Reject::event_too_large;
    }
    size_t budget = fit.event_bytes_max - base + 2;  // room for the quoted content string
    std::string clean;
    utf8_sanitize_append(clean, text);
    if (fit.cipher == Cipher::none) {
        size_t keep = json_string_prefix_bytes(clean, budget);
        truncated = keep < clean.size();
        out.set_content(std::string_view(clean).substr(0, keep));
        return Reject::none;
    }
    PYLON_ASSERT(fit.keys != nullptr && fit.peer != nullptr && fit.random != nullptr);
    std::string_view all(clean);
    size_t keep = all.size();
    if (!encrypted_fits(fit, all, budget)) {
        if (!encrypted_fits(fit, "", budget)) {
            return Reject::event_too_large;
        }
        size_t lo = 0;           // fits
        size_t hi = all.size();  // does not fit
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            bool ok = encrypted_fits(fit, all.substr(0, utf8_prefix_bytes(all, mid)), budget);
            (ok ? lo : hi) = mid;
        }
        keep = utf8_prefix_bytes(all, lo);
        truncated = true;
    }
    std::string plaintext = plaintext_of(fit, all.substr(0, keep));
    std::string payload;
    Reject r = Reject::none;
    if (!plaintext.empty()) {
        r = encrypt_payload(fit.cipher, fit.keys->secret(), *fit.peer, plaintext, *fit.random,
                            payload);
    }
    wipe_bytes(plaintext.data(), plaintext.size());
    wipe_bytes(clean.data(), clean.size());
    if (r == Reject::none) {
        out.set_content(payload);
    }
    return r;
}

}  // namespace pylon::proto
