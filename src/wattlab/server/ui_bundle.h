// The embedded UI files as the build generates them (ui/embed_files.cmake
// writes ui_bundle.cpp into the build folder). Internal to ui_assets.cpp.
#pragma once

#include <cstddef>

namespace wattlab::ui_bundle {

struct EmbeddedFile {
  const char* path;           // relative to the bundle's root: "index.html", "assets/index-1a2b3c.js"
  const unsigned char* data;  // `size` bytes (followed by a NUL that is not part of the file)
  size_t size;
};

extern const EmbeddedFile kFiles[];
extern const size_t kFileCount;
extern const bool kBuilt;  // false: the placeholder page of a build without npm

}  // namespace wattlab::ui_bundle
