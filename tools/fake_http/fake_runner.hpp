// run_fake_server: the shared main loop of the fake backends. It blocks SIGTERM/SIGINT (so only
// the main thread receives them), ignores SIGPIPE, binds 127.0.0.1:cfg.port, starts the server,
// prints "READY port=<n>" as the first stdout line (flushed), then sleeps until a signal or
// cfg.max_runtime_s or request_exit(), and stops the server (joining every thread). Called once
// from main().
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "tools/fake_http/fake_config.hpp"
#include "tools/fake_http/http_server.hpp"

namespace pylon::fake {

// A tool's own option parser: true when it consumed argv[*i] (advancing *i past its value).
using ExtraOption = std::function<bool(int argc, char** argv, int* i)>;
enum class CommandLine : std::uint8_t { run, exit_ok, exit_usage };

// Parses the command line: --help/-h prints `usage` and the common options (exit_ok); every
// other argument is a common option or one of `extra`'s; anything else is reported on stderr
// (exit_usage, the caller exits 2).
CommandLine parse_command_line(std::string_view tool_name, std::string_view usage, int argc,
                               char** argv, FakeConfig* cfg, const ExtraOption& extra);

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
