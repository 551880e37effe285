// Relay URLs as the provider compares them: lower-case scheme and host, no trailing slash on an
// empty path ("wss://Relay.Example.com/" and "wss://relay.example.com" are one relay), the
// node's own relay list (config `relays`, normalised, duplicates dropped, in order), and the
// check that keeps a request's `relays` tag from pointing the node at loopback or private
// addresses (only literal addresses and "localhost" are recognised; names are not resolved
// here). Pure functions: any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/config.hpp"

namespace pylon::engine {

std::string normalize_relay_url(std::string_view url);

// The configured relays, normalised and without duplicates, in config order.
std::vector<std::string> configured_relays(const Config& config);

// True for ws(s)://localhost, 127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 169.254/16,
// 100.64/10, fc00::/7, fe80::/10 and 0.0.0.0.
bool relay_host_is_private(std::string_view url);

}  // namespace pylon::engine
