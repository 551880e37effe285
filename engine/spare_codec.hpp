// SpareCodec<Codec>: a stream codec (proto::OllamaCodec, proto::LlamaCppCodec) borrowed for one
// generation from the current thread's spares and given back when it ends. A codec's JsonReader
// allocates its simdjson buffers (~60 KB: tape, string buffer, structural index) on its first
// parse; a codec built per job paid that allocation, and the page faults of fresh memory, on
// every job. At most spare_codecs_max warm codecs are kept per thread (shard) and codec type
// (~0.5 MB). Codecs keep no state between calls apart from those buffers. Any thread: each has
// its own spares (thread_local); a SpareCodec gives its codec to the thread that destroys it.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

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

}  // namespace pylon::engine
