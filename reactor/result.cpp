#include "reactor/result.hpp"

namespace pylon {

std::string_view errc_name(Errc code) noexcept {
    switch (code) {
        case Errc::io:
            return "io";
        case Errc::timeout:
            return "timeout";
        case Errc::cancelled:
            return "cancelled";
        case Errc::closed:
            return "closed";
        case Errc::refused:
            return "refused";
        case Errc::invalid_input:
            return "invalid_input";
        case Errc::too_large:
            return "too_large";
        case Errc::not_found:
            return "not_found";
        case Errc::exists:
            return "exists";
        case Errc::protocol:
            return "protocol";
        case Errc::tls:
            return "tls";
        case Errc::dns:
            return "dns";
        case Errc::unsupported:
            return "unsupported";
        case Errc::busy:
            return "busy";
        case Errc::permission:
            return "permission";
        case Errc::corrupt:
            return "corrupt";
        case Errc::internal:
            return "internal";
    }
    return "unknown";
}

Errc Error::errc_from_errno(int err) noexcept {
    switch (err) {
        case ETIMEDOUT:
        case ETIME:
            return Errc::timeout;
        case ECANCELED:
            return Errc::cancelled;
        case ECONNREFUSED:
            return Errc::refused;
        case ECONNRESET:
        case EPIPE:
        case ENOTCONN:
        case ESHUTDOWN:
            return Errc::closed;
        case ENOENT:
            return Errc::not_found;
        case EEXIST:
            return Errc::exists;
        case EACCES:
        case EPERM:
            return Errc::permission;
        case ENOSYS:
        case EOPNOTSUPP:
        case EAFNOSUPPORT:
            return Errc::unsupported;
        case EMSGSIZE:
        case E2BIG:
        case EFBIG:
            return Errc::too_large;
        case EINVAL:
            return Errc::invalid_input;
        case EAGAIN:
        case EBUSY:
        case ENOBUFS:
            return Errc::busy;
        default:
            return Errc::io;
    }
}

std::string Error::message() const {
    std::string out = context_;
    if (sys_errno_ != 0) {
        if (!out.empty()) {
            out += ": ";
        }
        char buf[128];
        out += ::strerror_r(sys_errno_, buf, sizeof buf);
    }
    if (out.empty()) {
        out = std::string(errc_name(code_));
    }
    return out;
}

}  // namespace pylon
