// SpareCodec<Codec>: a stream codec (proto::OllamaCodec, proto::LlamaCppCodec) borrowed from the
// current thread's spares for one decode and given back right after it. A codec's JsonReader
// allocates its simdjson buffers (~20 KB and up: tape, string buffer, structural index) on its
// first parse; a codec built per job paid that allocation, and the page faults of fresh memory,
// on every job, and a codec held for a whole generation cost every concurrent stream its own
// buffers (a thousand streams: ~20 MB). Codecs keep no state between calls apart from those
// buffers, so one decode at a time needs one codec per thread: at most spare_codecs_max warm
// codecs are kept per thread (shard) and codec type. What the decoded event points into belongs
// to the codec, so EventDecoder copies it out before giving the codec back. Any
// thread: each has its own spares (thread_local); a SpareCodec gives its codec to the thread
// that destroys it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "proto/generation.hpp"
#include "proto/reject.hpp"

namespace pylon::engine {

inline constexpr std::size_t spare_codecs_max = 8;

template <typename Codec>
class SpareCodec {
  public:
    SpareCodec() {
        auto& s = spares();
        if (s.empty()) {
            codec_ = std::make_unique<Codec>();
        } else {
            codec_ = std::move(s.back());
            s.pop_back();
        }
    }
    ~SpareCodec() {
        auto& s = spares();
        if (s.size() < spare_codecs_max) {
            s.push_back(std::move(codec_));
        }
    }
    SpareCodec(const SpareCodec&) = delete;
    SpareCodec& operator=(const SpareCodec&) = delete;

    Codec& get() noexcept { return *codec_; }

  private:
    static std::vector<std::unique_ptr<Codec>>& spares() {
        thread_local std::vector<std::unique_ptr<Codec>> s;
        return s;
    }

    std::unique_ptr<Codec> codec_;
};

// A generation's decoder: each decode borrows a codec, copies the text the event points to into
// the generation's own strings (valid until its next decode, as Generation::next() promises) and
// gives the codec back.
template <typename Codec>
class EventDecoder {
  public:
    // decode(Codec&, proto::StreamEvent&) -> proto::Reject, e.g. a call of decode_line.
    template <typename Decode>
    proto::Reject decode(proto::StreamEvent& ev, Decode&& decode) {
        SpareCodec<Codec> codec;
        proto::Reject r = decode(codec.get(), ev);
        text_.assign(ev.text);
        ev.text = text_;
        error_text_.assign(ev.error_text);
        ev.error_text = error_text_;
        return r;
    }

  private:
    std::string text_;
    std::string error_text_;
};

}  // namespace pylon::engine
