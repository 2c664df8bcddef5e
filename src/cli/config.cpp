#include "cli/config.h"

#include <fmt/format.h>
#include <yaml-cpp/depthguard.h>

#include <charconv>
#include <filesystem>
#include <limits>
#include <regex>

namespace lightning::cli {
namespace {

SourceLocation location_of(const YAML::Mark& mark, const std::string& file, const SourceLocation& fallback) {
  if (mark.line < 0) return fallback;
  return {.file = file, .line = mark.line + 1, .column = mark.column + 1};
}

/// `callbacks[2]` -> ("callbacks", 2); `trainer` -> ("trainer", nullopt). An index beyond 64 bits
/// is the largest one, which no list reaches; `index_text` keeps what was written.
struct Step {
  std::string key;
  std::optional<std::size_t> index;
  std::string index_text;
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
    Step step{.key = match[1]};
    if (match[2].matched) {
      step.index_text = match[2];
      std::size_t index = 0;
      const auto [end_of_number, error] = std::from_chars(step.index_text.data(), step.index_text.data() + step.index_text.size(), index);
      step.index = error == std::errc() ? index : std::numeric_limits<std::size_t>::max();
    }
    steps.push_back(std::move(step));
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

// What a config may hold: far beyond any real config, and far below what a few lines of nested
// aliases expand to (each level naming the one before several times), which every walk of the tree
// would visit.
constexpr int kMaxConfigDepth = 64;
constexpr std::size_t kMaxConfigValues = 100'000;

Diagnostic too_deep(const std::string& source, const std::string& key, std::string received, SourceLocation location) {
  return {.code = "LC0718",
          .message = fmt::format("`{}` is nested more than {} levels deep", source, kMaxConfigDepth),
          .subject = {key.empty() ? "(the whole file)" : key},
          .received = std::move(received),
          .expected = fmt::format("at most {} levels of maps and lists", kMaxConfigDepth),
          .help = "a lightning-cpp config needs a handful of levels: look for brackets that are not closed",
          .location = std::move(location)};
}

struct ShapeWalk {
  const std::string& source;  ///< the file, or the command-line argument
  const SourceLocation& fallback;
  bool has_lines;  ///< a file's marks are its lines; an argument's are not the user's
  DiagnosticCollector& problems;
  std::size_t visited = 0;

  SourceLocation at(const YAML::Node& node) const {
    return has_lines ? location_of(node.Mark(), source, fallback) : fallback;
  }

  /// False (with the problem reported) at the first key that is a list, a map or null, the first
  /// value nested deeper than kMaxConfigDepth, or past kMaxConfigValues values counted with each
  /// alias expanded; visits at most kMaxConfigValues nodes.
  bool fits(const YAML::Node& node, const std::string& key, int depth) {
    if (++visited > kMaxConfigValues) {
      problems.error({.code = "LC0719",
                      .message = fmt::format("`{}` holds more than {} values once its aliases are expanded", source,
                                             kMaxConfigValues),
                      .subject = {key.empty() ? "(the whole file)" : key},
                      .received = fmt::format("over {} values, stopped at `{}`", kMaxConfigValues, key),
                      .expected = fmt::format("at most {} values (aliases `*name` count each time they are used)",
                                              kMaxConfigValues),
                      .help = "write the values out, or refer to an anchor fewer times: aliases of aliases grow "
                              "exponentially",
                      .location = at(node)});
      return false;
    }
    if (depth > kMaxConfigDepth) {
      problems.error(too_deep(source, key, fmt::format("a value at depth {}", depth), at(node)));
      return false;
    }
    if (node.IsMap()) {
      for (const auto& entry : node) {
        if (!entry.first.IsScalar()) {
          problems.error({.code = "LC0717",
                          .message = fmt::format("a key in `{}` is not a name", key.empty() ? source : key),
                          .subject = {key.empty() ? "(the whole file)" : key},
                          .received = entry.first.IsNull() ? "null" : flow_yaml(entry.first),
                          .expected = "keys that are names, e.g. `max_epochs: 5`",
                          .help = "a `? ` line or a bracket before `:` makes a key of a list or map: write the key "
                                  "as a plain name",
                          .location = at(entry.first)});
          return false;
        }
        if (!fits(entry.second, child_key(key, entry.first.Scalar()), depth + 1)) return false;
      }
    } else if (node.IsSequence()) {
      for (std::size_t i = 0; i < node.size(); ++i) {
        if (!fits(node[i], item_key(key, i), depth + 1)) return false;
      }
    }
    return true;
  }
};

/// Whether `node`, read from a file or an argument (`source`), has a shape the config's walks can
/// take (ShapeWalk::fits).
bool has_config_shape(const YAML::Node& node, const std::string& source, bool has_lines, const std::string& key,
                      const SourceLocation& fallback, DiagnosticCollector& problems) {
  return ShapeWalk{.source = source, .fallback = fallback, .has_lines = has_lines, .problems = problems}.fits(node, key, 0);
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
                        .subject = {child},
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
  } catch (const YAML::DeepRecursion& e) {  // yaml-cpp's own bound, far beyond ours
    problems.error(too_deep(path, "", fmt::format("more than {} levels", e.depth()), location_of(e.mark, path, {path})));
    return;
  } catch (const YAML::ParserException& e) {
    problems.error({.code = "LC0701",
                    .message = fmt::format("config file `{}` is not valid YAML: {}", path, e.msg),
                    .subject = {path},
                    .help = "fix the YAML syntax at this line and column",
                    .location = SourceLocation{path, e.mark.line + 1, e.mark.column + 1}});
    return;
  } catch (const YAML::BadFile&) {
    problems.error({.code = "LC0702",
                    .message = fmt::format("config file `{}` cannot be read", path),
                    .subject = {"--config"},
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
                    .subject = {"(the whole file)"},
                    .expected = "sections such as `trainer:`, `model:`, `data:`",
                    .help = "write `trainer:`, `model:` and `data:` at the top level",
                    .location = location_of(file.Mark(), path, {path})});
    return;
  }
  if (!has_config_shape(file, path, /*has_lines=*/true, "", {path}, problems)) return;
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
                    .subject = {"command line"},
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
                        .message = fmt::format("`{}` has no item {} to override", dotted, step.index_text),
                        .subject = {dotted},
                        .received = fmt::format("\"{}\"", argument),
                        .expected = next.IsSequence() ? fmt::format("an index below {}", next.size()) : "a list",
                        .help = fmt::format("add the item first, e.g. --{}+=ClassName", dotted),
                        .location = here});
        return;
      }
      dotted = fmt::format("{}[{}]", dotted, step.index_text);
      YAML::Node item = next[*step.index];
      next.reset(item);
    }
    if (s + 1 < steps->size()) {
      node.reset(next);
      continue;
    }
    auto parsed = parse_value(value);
    if (!has_config_shape(parsed, argument, /*has_lines=*/false, dotted, here, problems)) return;
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
