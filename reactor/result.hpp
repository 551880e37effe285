// Result<T>: the return type of every operation that can fail for an operating reason (I/O, a
// peer, a backend, the disk, bad input). A bug is a PYLON_ASSERT instead. An Error carries a
// closed code, the errno that caused it (0 if none) and a short human context such as
// "127.0.0.1:11434: connection refused". Results are values: no thread or shard affinity.
// g++ 12 has no std::expected in C++20, hence this small type.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

#include "reactor/assert.hpp"

namespace pylon {

enum class Errc : unsigned char {
    io,             // an I/O call failed; see sys_errno
    timeout,        // a deadline passed
    cancelled,      // the operation was cancelled by its owner
    closed,         // the peer or the object is closed
    refused,        // connection refused / peer said no
    invalid_input,  // malformed input from outside (config, request, message)
    too_large,      // a size bound was exceeded
    not_found,      // a file, key, model or object does not exist
    exists,         // something already exists (pid file, identity)
    protocol,       // a peer broke its protocol
    tls,            // TLS handshake or certificate failure
    dns,            // name resolution failed
    unsupported,    // the kernel or peer lacks a feature
    busy,           // a bounded resource is full (queue, slots)
    permission,     // not allowed (uid, file mode, EPERM)
    corrupt,        // on-disk data is damaged or from a newer version
    internal,       // an unexpected failure in a dependency
};

std::string_view errc_name(Errc code) noexcept;

class Error {
  public:
    Error(Errc code, std::string context, int sys_errno = 0)
        : code_(code), sys_errno_(sys_errno), context_(std::move(context)) {}

    // An Error from an errno value (positive), with context.
    static Error from_errno(int err, std::string context) {
        return Error(errc_from_errno(err), std::move(context), err);
    }

    Errc code() const noexcept { return code_; }
    int sys_errno() const noexcept { return sys_errno_; }
    const std::string& context() const noexcept { return context_; }

    // "context: strerror" or just "context"; what a human reads.
    std::string message() const;

    static Errc errc_from_errno(int err) noexcept;

  private:
    Errc code_;
    int sys_errno_;
    std::string context_;
};

template <typename T>
class [[nodiscard]] Result {
  public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    T& value() & {
        PYLON_ASSERT_MSG(ok(), "Result::value() on an error");
        return std::get<0>(v_);
    }
    const T& value() const& {
        PYLON_ASSERT_MSG(ok(), "Result::value() on an error");
        return std::get<0>(v_);
    }
    T&& value() && {
        PYLON_ASSERT_MSG(ok(), "Result::value() on an error");
        return std::get<0>(std::move(v_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    const Error& error() const& {
        PYLON_ASSERT_MSG(!ok(), "Result::error() on a value");
        return std::get<1>(v_);
    }
    Error&& error() && {
        PYLON_ASSERT_MSG(!ok(), "Result::error() on a value");
        return std::get<1>(std::move(v_));
    }

  private:
    std::variant<T, Error> v_;
};

// Result<void>: success carries nothing.
struct Ok {};

template <>
class [[nodiscard]] Result<void> {
  public:
    Result() = default;
    Result(Ok) {}                                                              // NOLINT
    Result(Error error) : error_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

    bool ok() const noexcept { return error_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }
    const Error& error() const& {
        PYLON_ASSERT_MSG(!ok(), "Result::error() on a value");
        return std::get<1>(error_);
    }
    Error&& error() && {
        PYLON_ASSERT_MSG(!ok(), "Result::error() on a value");
        return std::get<1>(std::move(error_));
    }

  private:
    std::variant<std::monostate, Error> error_;
};

using Status = Result<void>;

}  // namespace pylon

// Propagate an error from an expression returning Result<...>; evaluates to nothing.
#define PYLON_TRY(expr)                             \
    do {                                            \
        auto pylon_try_r_ = (expr);                 \
        if (!pylon_try_r_.ok()) {                   \
            return std::move(pylon_try_r_).error(); \
        }                                           \
    } while (0)
