// Fuzzes the WebSocket URL parser: hostile strings never crash; an accepted URL is well formed
// and parses again to the same fields when rebuilt from them.
#include "net/address.cpp"  // NOLINT: compiled in for instrumentation
#include "net/url.cpp"      // NOLINT
#include "tests/fuzz/net_fuzz_support.hpp"

using namespace pylon::net;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto url = parse_ws_url(text);
    if (!url.ok()) {
        NET_FUZZ_CHECK(url.error().code() == pylon::Errc::invalid_input);
        return 0;
    }
    NET_FUZZ_CHECK(size <= Url::url_bytes_max);
    NET_FUZZ_CHECK(!url->host.empty());
    NET_FUZZ_CHECK(url->port != 0);
    NET_FUZZ_CHECK(!url->target.empty() && url->target.front() == '/');
    std::string rebuilt =
        std::string(url->secure ? "wss://" : "ws://") + url->host_header() + url->target;
    auto again = parse_ws_url(rebuilt);
    NET_FUZZ_CHECK(again.ok());
    NET_FUZZ_CHECK(again->host == url->host && again->port == url->port &&
                   again->target == url->target && again->secure == url->secure);
    return 0;
}
