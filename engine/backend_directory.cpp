#include "engine/backend_directory.hpp"

#include "proto/generation.hpp"
#include "reactor/assert.hpp"

namespace pylon::engine {

namespace {

bool enabled(const Config& config, BackendKind kind) {
    return kind == BackendKind::ollama ? config.backends.ollama.enabled
                                       : config.backends.llamacpp.enabled;
}

// nullopt-like: false when the name is not a backend this build runs.
bool kind_of(std::string_view name, BackendKind& out) {
    if (name == "ollama") {
        out = BackendKind::ollama;
        return true;
    }
    if (name == "llamacpp") {
        out = BackendKind::llamacpp;
        return true;
    }
    return false;
}

void add_unique(std::vector<BackendKind>& list, BackendKind kind) {
    for (BackendKind k : list) {
        if (k == kind) {
            return;
        }
    }
    list.push_back(kind);
}

}  // namespace

std::vector<BackendKind> registered_backends(const Config& config,
                                             std::vector<std::string>* notes) {
    const std::vector<std::string>& pref = config.backend_preference;
    std::vector<BackendKind> out;
    auto note = [notes](std::string line) {
        if (notes != nullptr) {
            notes->push_back(std::move(line));
        }
    };
    for (const std::string& name : pref) {
        BackendKind kind{};
        if (!kind_of(name, kind)) {
            note("backend_preference: " + name + " is not supported on this platform; skipped");
            continue;
        }
        if (!enabled(config, kind)) {
            note("backend_preference: " + name + " is disabled in [backends." + name + "]");
            continue;
        }
        add_unique(out, kind);
    }
    if (pref.size() == 1) {
        return out;  // exactly one entry: only that backend (Pylon's rule)
    }
    for (BackendKind kind : {BackendKind::ollama, BackendKind::llamacpp}) {
        if (enabled(config, kind)) {
            add_unique(out, kind);
        }
    }
    return out;
}

int BackendDirectory::default_backend() const noexcept {
    for (std::size_t i = 0; i < backends.size(); i++) {
        if (backends[i].available) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool BackendDirectory::any_waitable() const noexcept {
    for (const BackendView& b : backends) {
        if (b.waitable()) {
            return true;
        }
    }
    return false;
}

int BackendDirectory::index_of(BackendKind kind) const noexcept {
    for (std::size_t i = 0; i < backends.size(); i++) {
        if (backends[i].kind == kind) {
            return static_cast<int>(i);
        }
    }
    return -1;
}

bool BackendDirectory::find_model(std::string_view requested, ModelRoute& out) const {
    for (std::size_t i = 0; i < backends.size(); i++) {
        if (!backends[i].available) {
            continue;
        }
        for (const std::string& name : backends[i].models) {
            if (proto::model_name_matches(requested, name)) {
                out.ok = true;
                out.backend = i;
                out.model = name;
                return true;
            }
        }
    }
    return false;
}

bool BackendDirectory::find_loading(std::string_view requested, ModelRoute& out) const {
    for (std::size_t i = 0; i < backends.size(); i++) {
        const BackendView& b = backends[i];
        if (b.waitable() &&
            (requested.empty() || proto::model_name_matches(requested, b.loading_model))) {
            out.ok = true;
            out.waits = true;
            out.backend = i;
            out.model = b.loading_model;
            return true;
        }
    }
    return false;
}

std::string BackendDirectory::available_models_text() const {
    std::string text;
    std::size_t listed = 0;
    std::size_t total = 0;
    auto add = [&](const std::string& name) {
        total++;
        if (listed < error_models_listed_max) {
            text += (listed == 0 ? "" : ", ") + name;
            listed++;
        }
    };
    for (const BackendView& b : backends) {
        if (b.waitable()) {
            add(b.loading_model + " (loading)");
        }
        if (!b.available) {
            continue;
        }
        for (const std::string& name : b.models) {
            add(name);
        }
    }
    if (total > listed) {
        text += ", ... (" + std::to_string(total) + " in all)";
    }
    return text.empty() ? "none" : text;
}

std::string BackendDirectory::unknown_model_text(std::string_view requested) const {
    return "unknown model '" + std::string(requested) + "' (available: " + available_models_text() +
           ")";
}

ModelRoute BackendDirectory::route(std::string_view requested,
                                   std::string_view default_model) const {
    ModelRoute out;
    int def = default_backend();
    if (def < 0) {
        // Nothing answers: a loading llama-server takes what it will serve.
        std::string_view wanted = requested.empty() ? default_model : requested;
        if (find_loading(wanted, out) || (requested.empty() && find_loading("", out))) {
            return out;
        }
        if (requested.empty() || !any_waitable()) {
            out.no_backend = true;
            out.error = "no inference backend is available right now";
        } else {
            out.error = unknown_model_text(requested);
        }
        return out;
    }
    if (!requested.empty()) {
        if (!find_model(requested, out) && !find_loading(requested, out)) {
            out.error = unknown_model_text(requested);
        }
        return out;
    }
    if (!default_model.empty() &&
        (find_model(default_model, out) || find_loading(default_model, out))) {
        return out;
    }
    const BackendView& b = backends[static_cast<std::size_t>(def)];
    if (b.models.empty()) {
        out.no_backend = true;
        out.error = std::string(backend_kind_name(b.kind)) + " lists no models";
        return out;
    }
    out.ok = true;
    out.backend = static_cast<std::size_t>(def);
    out.model = b.models.front();
    PYLON_ASSERT(!out.model.empty());
    return out;
}

}  // namespace pylon::engine
