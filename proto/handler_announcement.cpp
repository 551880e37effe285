#include "proto/handler_announcement.hpp"

#include <charconv>

#include "proto/digest.hpp"
#include "proto/hex.hpp"
#include "proto/json_writer.hpp"

namespace pylon::proto {
namespace {

constexpr size_t k_stable_d_chars = 16;

void write_metadata(const HandlerMetadata& m, std::string& out) {
    JsonWriter w(out);
    w.begin_object();
    w.field("name", m.name);
    if (!m.about.empty()) {
        w.field("about", m.about);
    }
    if (!m.picture.empty()) {
        w.field("picture", m.picture);
    }
    if (!m.lud16.empty()) {
        w.field("lud16", m.lud16);
    }
    w.key("encryptionSupported");
    w.boolean(m.encryption_supported);
    if (!m.nip90_params_json.empty()) {
        w.key("nip90Params");
        w.raw(m.nip90_params_json);
    }
    w.end_object();
}

void read_metadata(simdjson::dom::object object, HandlerMetadata& m) {
    for (simdjson::dom::key_value_pair field : object) {
        std::string_view text;
        bool is_text = json_string(field.value, 4096, text) == Reject::none;
        if (field.key == "name" && is_text) {
            m.name.assign(text);
        } else if (field.key == "about" && is_text) {
            m.about.assign(text);
        } else if ((field.key == "picture" || field.key == "image") && is_text) {
            m.picture.assign(text);
        } else if (field.key == "lud16" && is_text) {
            m.lud16.assign(text);
        } else if (field.key == "encryptionSupported" || field.key == "supportsEncryption") {
            bool b = false;
            if (field.value.get_bool().get(b) == simdjson::SUCCESS) {
                m.encryption_supported = b;
            }
        } else if (field.key == "nip90Params" && field.value.is_object()) {
            m.nip90_params_json = simdjson::minify(field.value);
        }
    }
}

}  // namespace

std::string HandlerAnnouncement::stable_d(std::string_view name, const PublicKey& pubkey) {
    std::string seed(name);
    seed.append(pubkey.hex());
    return hex_encode(sha256(seed)).substr(0, k_stable_d_chars);
}

void HandlerAnnouncement::build(int64_t created_at, const Keypair& keys, RandomSource& random,
                                Event& out) const {
    out.clear();
    out.set_kind(handler_announcement_kind);
    out.set_created_at(created_at);
    out.add_tag({"d", d});
    for (uint32_t k : kinds) {
        out.add_tag({"k", std::to_string(k)});
    }
    std::string content;
    write_metadata(metadata, content);
    out.set_content(content);
    out.sign(keys, random);
}

Reject HandlerAnnouncement::read(const Event& event, JsonReader& reader) {
    *this = HandlerAnnouncement{};
    if (event.kind() != handler_announcement_kind) {
        return Reject::wrong_kind;
    }
    bool have_d = false;
    for (size_t i = 0; i < event.tag_count(); ++i) {
        TagView t = event.tag(i);
        if (t.name() == "d" && !have_d) {
            d.assign(t.value());
            have_d = true;
        } else if (t.name() == "k") {
            uint32_t k = 0;
            std::string_view v = t.value();
            auto res = std::from_chars(v.data(), v.data() + v.size(), k);
            if (res.ec != std::errc() || res.ptr != v.data() + v.size() || k > event_kind_max) {
                return Reject::bad_tag;
            }
            kinds.push_back(k);
        }
    }
    if (!have_d) {
        return Reject::missing_field;
    }
    if (event.content().empty()) {
        return Reject::none;  // clients fall back to the author's kind 0
    }
    simdjson::dom::element root;
    Reject r = reader.parse(event.content(), root);
    simdjson::dom::object object;
    if (r == Reject::none && (r = json_object(root, object)) == Reject::none) {
        read_metadata(object, metadata);
    }
    return r;
}

}  // namespace pylon::proto
