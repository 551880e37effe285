#include "net/chunked_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace pylon::net {

const char* chunked_error_name(ChunkedError e) noexcept {
    switch (e) {
        case ChunkedError::none:
            return "none";
        case ChunkedError::bad_size:
            return "bad chunk size";
        case ChunkedError::line_too_long:
            return "chunk size line too long";
        case ChunkedError::bad_terminator:
            return "chunk data not followed by CRLF";
        case ChunkedError::trailers_too_large:
            return "trailers too large";
    }
    return "?";
}

void ChunkedDecoder::reset() {
    state_ = State::size_line;
    error_ = ChunkedError::none;
    line_.clear();
    remaining_ = 0;
    trailer_bytes_ = 0;
}

ChunkedStep ChunkedDecoder::fail(ChunkedStep s, ChunkedError e) {
    state_ = State::failed;
    error_ = e;
    s.error = e;
    return s;
}

namespace {

int hex_value(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

// line_ holds the size line without its LF (a trailing CR is allowed).
bool ChunkedDecoder::parse_size_line() {
    std::size_t end = line_.size();
    if (end > 0 && line_[end - 1] == '\r') {
        end--;
    }
    std::uint64_t size = 0;
    std::size_t i = 0;
    for (; i < end; i++) {
        int v = hex_value(line_[i]);
        if (v < 0) {
            break;
        }
        if (size > (limits_.chunk_bytes_max >> 4)) {
            return false;  // would overflow the bound
        }
        size = (size << 4) | static_cast<std::uint64_t>(v);
    }
    if (i == 0 || size > limits_.chunk_bytes_max) {
        return false;
    }
    // What follows the digits: optional whitespace, then nothing or ";extensions".
    while (i < end && (line_[i] == ' ' || line_[i] == '\t')) {
        i++;
    }
    if (i < end && line_[i] != ';') {
        return false;
    }
    remaining_ = size;
    return true;
}

ChunkedStep ChunkedDecoder::step(std::span<const std::uint8_t> input) {
    ChunkedStep s;
    while (s.consumed < input.size()) {
        const std::uint8_t* p = input.data() + s.consumed;
        std::size_t avail = input.size() - s.consumed;
        switch (state_) {
            case State::size_line:
            case State::trailer: {
                const auto* nl = static_cast<const std::uint8_t*>(std::memchr(p, '\n', avail));
                std::size_t take = nl != nullptr ? static_cast<std::size_t>(nl - p) : avail;
                std::size_t bound = state_ == State::size_line ? limits_.size_line_bytes_max
                                                               : limits_.trailer_bytes_max;
                if (line_.size() + take > bound) {
                    return fail(s, state_ == State::size_line ? ChunkedError::line_too_long
                                                              : ChunkedError::trailers_too_large);
                }
                line_.append(reinterpret_cast<const char*>(p), take);
                s.consumed += take;
                if (nl == nullptr) {
                    return s;
                }
                s.consumed++;  // the LF
                if (state_ == State::size_line) {
                    if (!parse_size_line()) {
                        return fail(s, ChunkedError::bad_size);
                    }
                    line_.clear();
                    state_ = remaining_ == 0 ? State::trailer : State::data;
                    break;
                }
                // A trailer line: an empty one ends the body.
                trailer_bytes_ += line_.size();
                bool empty = line_.empty() || line_ == "\r";
                line_.clear();
                if (trailer_bytes_ > limits_.trailer_bytes_max) {
                    return fail(s, ChunkedError::trailers_too_large);
                }
                if (empty) {
                    state_ = State::done;
                    s.done = true;
                    return s;
                }
                break;
            }
            case State::data: {
                std::size_t take =
                    static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, avail));
                s.data = input.subspan(s.consumed, take);
                s.consumed += take;
                remaining_ -= take;
                if (remaining_ == 0) {
                    state_ = State::data_cr;
                }
                return s;
            }
            case State::data_cr:
                if (*p == '\r') {
                    state_ = State::data_lf;
                    s.consumed++;
                } else if (*p == '\n') {
                    state_ = State::size_line;
                    s.consumed++;
                } else {
                    return fail(s, ChunkedError::bad_terminator);
                }
                break;
            case State::data_lf:
                if (*p != '\n') {
                    return fail(s, ChunkedError::bad_terminator);
                }
                state_ = State::size_line;
                s.consumed++;
                break;
            case State::done:
                s.done = true;
                return s;
            case State::failed:
                s.error = error_;
                return s;
        }
    }
    s.done = state_ == State::done;
    if (state_ == State::failed) {
        s.error = error_;
    }
    return s;
}

}  // namespace pylon::net
