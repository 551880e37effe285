#include "engine/control_commands.hpp"

namespace pylon::engine {

void ControlCommands::add(std::string name, ControlHandlerFn fn, void* context) {
    for (Entry& e : entries_) {
        if (e.name == name) {
            e.fn = fn;
            e.context = context;
            return;
        }
    }
    entries_.push_back(Entry{std::move(name), fn, context});
}

void ControlCommands::remove(std::string_view name) {
    for (std::size_t i = 0; i < entries_.size(); i++) {
        if (entries_[i].name == name) {
            entries_.erase(entries_.begin() + static_cast<std::ptrdiff_t>(i));
            return;
        }
    }
}

const ControlCommands::Entry* ControlCommands::find(std::string_view name) const {
    for (const Entry& e : entries_) {
        if (e.name == name) {
            return &e;
        }
    }
    return nullptr;
}

}  // namespace pylon::engine
