#include "net/sse.hpp"

namespace pylon::net {

void SseParser::feed(std::span<const std::uint8_t> bytes) {
    PYLON_ASSERT_MSG(input_.empty(), "SseParser::feed before next() drained the input");
    input_ = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

std::optional<std::string_view> SseParser::next_line() {
    if (line_buf_used_) {
        line_buf_.clear();
        line_buf_used_ = false;
    }
    std::size_t nl = input_.find('\n');
    std::size_t take = nl == std::string_view::npos ? input_.size() : nl;
    if (line_buf_.size() + take > event_bytes_max_) {
        failed_ = true;
        return std::nullopt;
    }
    if (nl == std::string_view::npos) {
        line_buf_.append(input_);
        input_ = {};
        return std::nullopt;
    }
    std::string_view line;
    if (line_buf_.empty()) {
        line = input_.substr(0, nl);
    } else {
        line_buf_.append(input_.substr(0, nl));
        line_buf_used_ = true;
        line = line_buf_;
    }
    input_.remove_prefix(nl + 1);
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

// Applies one non-blank line; false when the event grew past its bound.
bool SseParser::field(std::string_view line) {
    if (line.front() == ':') {
        comments_++;
        return true;
    }
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
        value = line.substr(colon + 1);
        if (!value.empty() && value.front() == ' ') {
            value.remove_prefix(1);
        }
    }
    if (name == "data") {
        if (data_.size() + value.size() + 1 > event_bytes_max_) {
            return false;
        }
        if (has_data_) {
            data_.push_back('\n');
        }
        data_.append(value);
        has_data_ = true;
    } else if (name == "event") {
        if (value.size() > event_bytes_max_) {
            return false;
        }
        type_.assign(value);
    }
    return true;  // id, retry and unknown fields are ignored
}

Result<std::optional<SseEvent>> SseParser::next() {
    if (dispatched_) {
        data_.clear();
        type_.clear();
        has_data_ = false;
        dispatched_ = false;
    }
    while (!failed_) {
        std::optional<std::string_view> line = next_line();
        if (!line) {
            if (failed_) {
                break;
            }
            return std::optional<SseEvent>{};
        }
        if (!bom_checked_) {
            bom_checked_ = true;
            if (line->substr(0, 3) == "\xEF\xBB\xBF") {
                line->remove_prefix(3);
            }
        }
        if (!line->empty()) {
            if (!field(*line)) {
                failed_ = true;
            }
            continue;
        }
        if (!has_data_) {
            type_.clear();  // a blank line without data dispatches nothing
            continue;
        }
        dispatched_ = true;
        return std::optional<SseEvent>{SseEvent{type_, data_, data_ == "[DONE]"}};
    }
    return Error(Errc::too_large,
                 "SSE event longer than " + std::to_string(event_bytes_max_) + " bytes");
}

}  // namespace pylon::net
