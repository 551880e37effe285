// run_fake_server: the shared main loop of the fake backends. It blocks SIGTERM/SIGINT (so only
// the main thread receives them), ignores SIGPIPE, binds 127.0.0.1:cfg.port, starts the server,
// prints "READY port=<n>" as the first stdout line (flushed), then sleeps until a signal or
// cfg.max_runtime_s or request_exit(), and stops the server (joining every thread). Called once
// from main().
#pragma once

#include <string_view>

#include "tools/fake_http/fake_config.hpp"
#include "tools/fake_http/http_server.hpp"

namespace pylon::fake {

// Returns the process exit code: 0 after a signal or the runtime bound, the requested code after
// request_exit(), 1 when binding failed.
int run_fake_server(std::string_view tool_name, const FakeConfig& cfg, Handler handler);

// Asks the main loop to stop the server and exit with `code` (for --exit-after-requests): the
// process exits in order (threads joined, sockets closed) shortly after. Any thread may call it;
// the first code wins.
void request_exit(int code);
// Crashes the process with SIGSEGV (no core file) (for --crash-after-requests).
[[noreturn]] void crash_now();

}  // namespace pylon::fake
