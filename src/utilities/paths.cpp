#include <lightning/utilities/paths.h>

#include <fmt/format.h>

#include <unistd.h>

namespace lightning {

std::optional<std::string> unusable_folder(const std::filesystem::path& folder) {
  namespace fs = std::filesystem;
  std::error_code error;
  if (fs::exists(folder, error) && !fs::is_directory(folder, error)) return "it is a file, not a folder";
  fs::path existing = fs::absolute(folder, error);
  while (!existing.empty() && !fs::exists(existing, error)) {
    if (existing == existing.parent_path()) break;
    existing = existing.parent_path();
  }
  if (!existing.empty() && !fs::is_directory(existing, error)) {
    return fmt::format("\"{}\" is a file, so no folder can be created under it", existing.string());
  }
  if (existing.empty() || ::access(existing.c_str(), W_OK) != 0) {
    return fmt::format("\"{}\" is not writable", existing.string());
  }
  return std::nullopt;
}

}  // namespace lightning
