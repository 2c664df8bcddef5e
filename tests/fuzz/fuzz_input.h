#pragma once
// What the fuzz targets share: the readers take paths, so each input becomes a file first.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

namespace lightning::fuzz {

/// `data` as the file `<tmp>/lightning-fuzz-<pid>/<name>`, rewritten for each input.
inline std::filesystem::path as_file(const uint8_t* data, std::size_t size, const std::string& name) {
  static const std::filesystem::path folder = [] {
    auto path = std::filesystem::temp_directory_path() / ("lightning-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path;
  }();
  const auto path = folder / name;
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(reinterpret_cast<const char*>(data),
                                                                 static_cast<std::streamsize>(size));
  return path;
}

}  // namespace lightning::fuzz
