// Home: where Pylon keeps its files. `--home DIR` wins, then $PYLON_HOME, then
// ~/.openagents/pylon (Pylon v0.1's folder). The layout inside (ARCHITECTURE.md, "Files on disk"):
// config.toml, identity.mnemonic (0600), pylon.db (+ WAL), pylon.pid, control.sock (0600), logs/.
// Pure path logic plus a helper that creates the folder with mode 0700. Any thread.
#pragma once

#include <string>
#include <string_view>

#include "reactor/result.hpp"

namespace pylon::engine {

class Home {
  public:
    // Resolves the folder from the flag (may be empty), the environment and $HOME.
    static Result<Home> resolve(std::string_view flag);
    explicit Home(std::string dir) : dir_(std::move(dir)) {}

    const std::string& dir() const noexcept { return dir_; }
    std::string path(std::string_view name) const { return dir_ + "/" + std::string(name); }
    std::string config_path() const { return path("config.toml"); }
    std::string mnemonic_path() const { return path("identity.mnemonic"); }
    std::string db_path() const { return path("pylon.db"); }
    std::string pid_path() const { return path("pylon.pid"); }
    std::string socket_path() const { return path("control.sock"); }
    std::string logs_dir() const { return path("logs"); }

    // Creates the folder (and parents) if missing, mode 0700.
    Status ensure_exists() const;

  private:
    std::string dir_;
};

}  // namespace pylon::engine
