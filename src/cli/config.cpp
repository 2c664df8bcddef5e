#include "cli/config.h"

#include <fmt/format.h>

#include <filesystem>
#include <regex>

namespace lightning::cli {
namespace {

SourceLocation location_of(const YAML::Mark& mark, const std::string& file, const SourceLocation& fallback) {
  if (mark.line < 0) return fallback;
  return {.file = file, .line = mark.line + 1, .column = mark.column + 1};
}

/// `callbacks[2]` -> ("callbacks", 2); `trainer` -> ("trainer", nullopt).
struct Step {
  std::string key;
  std::optional<std::size_t> index;
};

std::optional<std::vector<Step>> parse_key(const std::string& dotted) {
  static const std::regex kStep(R"(([A-Za-z_][A-Za-z0-9_]*)(?:\[(\d+)\])?)");
  std::vector<Step> steps;
  std::size_t begin = 0;
  while (begin <= dotted.size()) {
    const auto end = std::min(dotted.find('.', begin), dotted.size());
    const auto part = dotted.substr(begin, end - begin);
    std::smatch match;
    if (!std::regex_match(part, match, kStep)) return std::nullopt;
    steps.push_back({match[1], match[2].matched ? std::optional<std::size_t>(std::stoul(match[2])) : std::nullopt});
    begin = end + 1;
  }
  return steps;
}

YAML::Node parse_value(const std::string& text) {
  try {
    return YAML::Load(text);
  } catch (const YAML::Exception&) {
    return YAML::Node(text);  // `a: b: c` and the like: the text itself
  }
}

bool changes_class(const YAML::Node& into, const YAML::Node& from) {
  return into.IsMap() && from.IsMap() && into["class_path"] && from["class_path"] &&
         into["class_path"].Scalar() != from["class_path"].Scalar();
}

/// YAML forbids a key twice in one map; yaml-cpp reads the first and PyYAML the last, so the file
/// would mean different things to different readers. Reports each repeat; true when there is one.
bool duplicate_keys(const YAML::Node& node, const std::string& key, const std::string& file, DiagnosticCollector& problems) {
  bool found = false;
  if (node.IsMap()) {
    std::map<std::string, YAML::Mark> seen;
    for (const auto& entry : node) {
      const auto name = entry.first.as<std::string>();
      const auto child = child_key(key, name);
      if (auto [it, inserted] = seen.emplace(name, entry.first.Mark()); !inserted) {
        problems.error({.code = "LC0713",
                        .message = fmt::format("key `{}` is written twice in `{}`", child, file),
                        .where = child,
                        .received = fmt::format("also at {}:{}:{}", file, it->second.line + 1, it->second.column + 1),
                        .expected = "each key once per map",
                        .help = "merge the two into one (a later --config file can override an earlier one)",
                        .location = SourceLocation{file, entry.first.Mark().line + 1, entry.first.Mark().column + 1}});
        found = true;
      }
      found = duplicate_keys(entry.second, child, file, problems) || found;
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) found = duplicate_keys(node[i], item_key(key, i), file, problems) || found;
  }
  return found;
}

}  // namespace

std::string child_key(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string item_key(const std::string& parent, std::size_t index) { return fmt::format("{}[{}]", parent, index); }

std::string flow_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out.SetNullFormat(YAML::LowerNull);
  out.SetMapFormat(YAML::Flow);
  out.SetSeqFormat(YAML::Flow);
  out << node;
  return out.c_str();
}

void Config::merge_file(const std::string& path, DiagnosticCollector& problems) {
  YAML::Node file;
  try {
    if (!std::filesystem::is_regular_file(path)) throw YAML::BadFile(path);
    file = YAML::LoadFile(path);
  } catch (const YAML::ParserException& e) {
    problems.error({.code = "LC0701",
                    .message = fmt::format("config file `{}` is not valid YAML: {}", path, e.msg),
                    .where = path,
                    .help = "fix the YAML syntax at this line and column",
                    .location = SourceLocation{path, e.mark.line + 1, e.mark.column + 1}});
    return;
  } catch (const YAML::BadFile&) {
    problems.error({.code = "LC0702",
                    .message = fmt::format("config file `{}` cannot be read", path),
                    .where = "--config",
                    .received = fmt::format("\"{}\"", path),
                    .expected = "a readable YAML file",
                    .help = fmt::format("check the path (the working directory is {})",
                                        std::filesystem::current_path().string())});
    return;
  }
  if (file.IsNull()) return;  // an empty file changes nothing
  if (!file.IsMap()) {
    problems.error({.code = "LC0704",
                    .message = fmt::format("config file `{}` does not hold a map of sections", path),
                    .where = "(the whole file)",
                    .expected = "sections such as `trainer:`, `model:`, `data:`",
                    .help = "write `trainer:`, `model:` and `data:` at the top level",
                    .location = location_of(file.Mark(), path, {path})});
    return;
  }
  if (duplicate_keys(file, "", path, problems)) return;
  merge(root_, file, "");
  // merge() recorded only what it copied; record the positions of everything that file holds.
  for (const auto& entry : file) {
    const auto key = entry.first.as<std::string>();
    record(entry.second, key, location_of(entry.first.Mark(), path, {path}), path);
  }
}

void Config::merge(YAML::Node& into, const YAML::Node& from, const std::string& key) {
  for (const auto& entry : from) {
    const auto name = entry.first.as<std::string>();
    const auto child = child_key(key, name);
    const YAML::Node& existing = std::as_const(into)[name];
    if (existing && existing.IsMap() && entry.second.IsMap() && !changes_class(existing, entry.second)) {
      YAML::Node target = into[name];
      merge(target, entry.second, child);
    } else {
      forget(child);
      into[name] = YAML::Clone(entry.second);
    }
  }
}

void Config::record(const YAML::Node& node, const std::string& key, const SourceLocation& key_location,
                    const std::string& file) {
  locations_[key] = {key_location, location_of(node.Mark(), file, key_location)};
  if (node.IsMap()) {
    for (const auto& entry : node) {
      const auto name = entry.first.as<std::string>();
      record(entry.second, child_key(key, name), location_of(entry.first.Mark(), file, key_location), file);
    }
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) {
      record(node[i], item_key(key, i), location_of(node[i].Mark(), file, key_location), file);
    }
  }
}

void Config::record_everywhere(const YAML::Node& node, const std::string& key, const SourceLocation& location) {
  locations_[key] = {location, location};
  if (node.IsMap()) {
    for (const auto& entry : node) record_everywhere(entry.second, child_key(key, entry.first.as<std::string>()), location);
  } else if (node.IsSequence()) {
    for (std::size_t i = 0; i < node.size(); ++i) record_everywhere(node[i], item_key(key, i), location);
  }
}

void Config::forget(const std::string& key) {
  for (auto it = locations_.lower_bound(key); it != locations_.end() && it->first.starts_with(key);) {
    const char next = it->first.size() > key.size() ? it->first[key.size()] : '\0';
    it = (next == '\0' || next == '.' || next == '[') ? locations_.erase(it) : std::next(it);
  }
}

void Config::apply_override(const std::string& key, const std::string& value, bool append,
                            const std::string& argument, DiagnosticCollector& problems) {
  const SourceLocation here{.file = fmt::format("command line ({})", argument)};
  const auto steps = parse_key(key);
  if (!steps) {
    problems.error({.code = "LC0707",
                    .message = fmt::format("command-line option `{}` is not a dotted config key", argument),
                    .where = "command line",
                    .received = fmt::format("\"{}\"", argument),
                    .expected = "--section.key=value, e.g. --trainer.max_epochs=5",
                    .help = "write keys as in the config file, joined by dots",
                    .location = here});
    return;
  }
  // yaml-cpp's `a = b` overwrites the node `a` refers to; `a.reset(b)` rebinds the handle.
  YAML::Node node = root_;
  std::string dotted;
  for (std::size_t s = 0; s < steps->size(); ++s) {
    const auto& step = (*steps)[s];
    if (node.IsScalar() && !node.IsNull() && step.key != "class_path") {  // `--model=X --model.init_args.a=1`
      YAML::Node spec(YAML::NodeType::Map);
      spec["class_path"] = node.Scalar();
      node = spec;
    } else if (!node.IsMap()) {
      node = YAML::Node(YAML::NodeType::Map);
    }
    dotted = child_key(dotted, step.key);
    YAML::Node next = node[step.key];
    if (step.index) {
      if (!next.IsSequence() || *step.index >= next.size()) {
        problems.error({.code = "LC0707",
                        .message = fmt::format("`{}` has no item {} to override", dotted, *step.index),
                        .where = dotted,
                        .received = fmt::format("\"{}\"", argument),
                        .expected = next.IsSequence() ? fmt::format("an index below {}", next.size()) : "a list",
                        .help = fmt::format("add the item first, e.g. --{}+=ClassName", dotted),
                        .location = here});
        return;
      }
      dotted = item_key(dotted, *step.index);
      YAML::Node item = next[*step.index];
      next.reset(item);
    }
    if (s + 1 < steps->size()) {
      node.reset(next);
      continue;
    }
    auto parsed = parse_value(value);
    if (!append) {
      forget(dotted);
      next = parsed;
      record_everywhere(parsed, dotted, here);
      return;
    }
    if (parsed.IsScalar()) {  // `+=EarlyStopping`
      YAML::Node spec(YAML::NodeType::Map);
      spec["class_path"] = parsed;
      parsed.reset(spec);
    }
    if (next.IsMap()) {  // a single class becomes the first item of a list
      YAML::Node list(YAML::NodeType::Sequence);
      list.push_back(YAML::Clone(next));
      forget(dotted);
      next = list;
      record_everywhere(next, dotted, here);
    } else if (!next.IsSequence()) {
      forget(dotted);
      next = YAML::Node(YAML::NodeType::Sequence);
      record_everywhere(next, dotted, here);
    }
    next.push_back(parsed);
    record_everywhere(parsed, item_key(dotted, next.size() - 1), here);
    return;
  }
}

std::optional<SourceLocation> Config::value_location(const std::string& key) const {
  if (auto it = locations_.find(key); it != locations_.end()) return it->second.value;
  // Not written: point at the nearest enclosing key (`init_args:` for a missing argument).
  for (std::string k = key;;) {
    const auto cut = k.find_last_of(".[");
    if (cut == std::string::npos) return std::nullopt;
    k = k.substr(0, cut);
    if (auto it = locations_.find(k); it != locations_.end()) return it->second.key;
  }
}

std::optional<SourceLocation> Config::key_location(const std::string& key) const {
  if (auto it = locations_.find(key); it != locations_.end()) return it->second.key;
  return value_location(key);
}

}  // namespace lightning::cli
