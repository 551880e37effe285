#include "proto/auth_event.hpp"

namespace pylon::proto {
namespace {

// "wss://Relay.example.com/" -> "wss://relay.example.com": lowercase scheme and host, no
// trailing slash. Enough for the "domain match" NIP-42 asks of relays.
std::string normalise_url(std::string_view url) {
    while (!url.empty() && url.back() == '/') {
        url.remove_suffix(1);
    }
    std::string out(url);
    size_t host_end = out.find('/', out.find("://") == std::string::npos ? 0 : out.find("://") + 3);
    for (size_t i = 0; i < out.size() && i < host_end; ++i) {
        char c = out[i];
        out[i] = (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

}  // namespace

void AuthEvent::build(int64_t created_at, const Keypair& keys, RandomSource& random,
                      Event& out) const {
    out.clear();
    out.set_kind(auth_event_kind);
    out.set_created_at(created_at);
    out.add_tag({"relay", relay_url});
    out.add_tag({"challenge", challenge});
    out.sign(keys, random);
}

Reject AuthEvent::read(const Event& event) {
    *this = AuthEvent{};
    if (event.kind() != auth_event_kind) {
        return Reject::wrong_kind;
    }
    auto relay = event.find_tag("relay");
    auto chal = event.find_tag("challenge");
    if (!relay || !chal || relay->size() < 2 || chal->size() < 2) {
        return Reject::missing_field;
    }
    relay_url.assign(relay->value());
    challenge.assign(chal->value());
    return Reject::none;
}

Reject AuthEvent::check(const Event& event, std::string_view relay_url, std::string_view challenge,
                        int64_t now, int64_t window_seconds) {
    AuthEvent got;
    Reject r = got.read(event);
    if (r != Reject::none) {
        return r;
    }
    if (got.challenge != challenge || normalise_url(got.relay_url) != normalise_url(relay_url)) {
        return Reject::bad_tag;
    }
    int64_t age = now - event.created_at();
    if (age > window_seconds || -age > window_seconds) {
        return Reject::bad_created_at;
    }
    return event.verify();
}

}  // namespace pylon::proto
