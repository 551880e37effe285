#include "engine/identity_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include "proto/mnemonic.hpp"
#include "proto/nip06.hpp"
#include "proto/nip19.hpp"
#include "proto/secret.hpp"

namespace pylon::engine {

std::string identity_path(const Home& home, const Config& config) {
    if (config.data_dir && !config.data_dir->empty()) {
        std::string dir = *config.data_dir;
        if (dir[0] == '~' && (dir.size() == 1 || dir[1] == '/')) {
            const char* h = std::getenv("HOME");
            dir = std::string(h != nullptr ? h : "") + dir.substr(1);
        }
        while (dir.size() > 1 && dir.back() == '/') {
            dir.pop_back();
        }
        if (dir[0] != '/') {
            dir = home.dir() + "/" + dir;  // relative: from the home, wherever the shell is
        }
        return dir + "/identity.mnemonic";
    }
    return home.mnemonic_path();
}

Result<NodeIdentity> load_identity(const std::string& path, std::uint32_t account) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            return Error(Errc::not_found, "no identity at " + path);
        }
        return Error::from_errno(errno, "read " + path);
    }
    std::string text(identity_file_bytes_max, '\0');
    ssize_t n = ::read(fd, text.data(), text.size());
    int err = errno;
    ::close(fd);
    if (n < 0) {
        proto::wipe_bytes(text.data(), text.size());
        return Error::from_errno(err, "read " + path);
    }
    text.resize(static_cast<std::size_t>(n));
    auto mnemonic = proto::Mnemonic::parse(text);
    proto::wipe_bytes(text.data(), text.size());
    if (!mnemonic.ok()) {
        return Error(Errc::invalid_input, path + ": " + mnemonic.error().message());
    }
    auto keypair = proto::nip06_keypair(mnemonic.value(), "", account);
    if (!keypair.ok()) {
        return Error(keypair.error().code(), path + ": " + keypair.error().message());
    }
    std::string npub = proto::npub_encode(keypair->public_key());
    std::string hex = keypair->public_key().hex();
    return NodeIdentity{std::move(keypair.value()), std::move(npub), std::move(hex), account};
}

}  // namespace pylon::engine
