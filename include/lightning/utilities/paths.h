#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace lightning {

/// Why `folder` cannot hold files we write: it is a file, it sits under a file, or the nearest
/// existing folder above it is not writable. Nothing when it exists as a writable folder or can be
/// created. Creates nothing.
std::optional<std::string> unusable_folder(const std::filesystem::path& folder);

}  // namespace lightning
