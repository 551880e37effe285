#include "engine/home.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace pylon::engine {

Result<Home> Home::resolve(std::string_view flag) {
    std::string dir;
    if (!flag.empty()) {
        dir = std::string(flag);
    } else if (const char* env = std::getenv("PYLON_HOME"); env != nullptr && *env != '\0') {
        dir = env;
    } else {
        const char* home = std::getenv("HOME");
        if (home == nullptr || *home == '\0') {
            passwd* pw = ::getpwuid(::getuid());
            home = pw != nullptr ? pw->pw_dir : nullptr;
        }
        if (home == nullptr || *home == '\0') {
            return Error(Errc::not_found,
                         "cannot find a home folder: set $HOME, $PYLON_HOME or "
                         "pass --home DIR");
        }
        dir = std::string(home) + "/.openagents/pylon";
    }
    while (dir.size() > 1 && dir.back() == '/') {
        dir.pop_back();
    }
    return Home(std::move(dir));
}

Status Home::ensure_exists() const {
    std::string partial;
    std::size_t pos = 0;
    while (pos != std::string::npos) {
        pos = dir_.find('/', pos + 1);
        partial = dir_.substr(0, pos);
        if (partial.empty()) {
            continue;
        }
        if (::mkdir(partial.c_str(), 0700) != 0 && errno != EEXIST) {
            return Error::from_errno(errno, "create folder " + partial);
        }
    }
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0) {
        return Error::from_errno(errno, "stat " + dir_);
    }
    if (!S_ISDIR(st.st_mode)) {
        return Error(Errc::invalid_input, dir_ + " exists and is not a folder");
    }
    return Ok{};
}

}  // namespace pylon::engine
