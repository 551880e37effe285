#include "net/ndjson.hpp"

namespace pylon::net {

namespace {

std::string_view strip_cr(std::string_view line) {
    if (!line.empty() && line.back() == '\r') {
        line.remove_suffix(1);
    }
    return line;
}

}  // namespace

void NdjsonSplitter::feed(std::span<const std::uint8_t> bytes) {
    PYLON_ASSERT_MSG(input_.empty(), "NdjsonSplitter::feed before next() drained the input");
    input_ = std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

Result<std::optional<std::string_view>> NdjsonSplitter::next() {
    if (partial_handed_out_) {
        partial_.clear();
        partial_handed_out_ = false;
    }
    while (!failed_) {
        std::size_t nl = input_.find('\n');
        std::size_t take = nl == std::string_view::npos ? input_.size() : nl;
        if (partial_.size() + take > line_bytes_max_) {
            failed_ = true;
            break;
        }
        if (nl == std::string_view::npos) {
            partial_.append(input_);
            input_ = {};
            return std::optional<std::string_view>{};
        }
        std::string_view line;
        if (partial_.empty()) {
            line = strip_cr(input_.substr(0, nl));  // whole in the input: no copy
        } else {
            partial_.append(input_.substr(0, nl));  // the record was cut: complete it
            partial_handed_out_ = true;
            line = strip_cr(partial_);
        }
        input_.remove_prefix(nl + 1);
        if (!line.empty()) {
            return std::optional<std::string_view>{line};
        }
        if (partial_handed_out_) {
            partial_.clear();
            partial_handed_out_ = false;
        }
    }
    return Error(Errc::too_large,
                 "NDJSON line longer than " + std::to_string(line_bytes_max_) + " bytes");
}

Result<std::optional<std::string_view>> NdjsonSplitter::finish() {
    PYLON_ASSERT(input_.empty());
    if (failed_) {
        return Error(Errc::too_large,
                     "NDJSON line longer than " + std::to_string(line_bytes_max_) + " bytes");
    }
    if (partial_handed_out_) {
        partial_.clear();
        partial_handed_out_ = false;
    }
    std::string_view line = strip_cr(partial_);
    partial_handed_out_ = true;
    if (line.empty()) {
        return std::optional<std::string_view>{};
    }
    return std::optional<std::string_view>{line};
}

}  // namespace pylon::net
