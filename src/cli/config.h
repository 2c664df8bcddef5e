#pragma once
// A run's configuration: YAML files merged in order, then the command line's dotted overrides, with
// the file, line and column every value came from.

#include <lightning/diagnostics/diagnostic.h>

#include <yaml-cpp/yaml.h>

#include <map>
#include <string>
#include <vector>

namespace lightning::cli {

/// `trainer.callbacks[1].init_args.monitor`: one step of a key, a map key or a list index.
std::string child_key(const std::string& parent, const std::string& key);
std::string item_key(const std::string& parent, std::size_t index);

/// A value on one line, as YAML writes it in flow style: `[1, 2]`, `{a: 1}`, `null`.
std::string flow_yaml(const YAML::Node& node);

/// The effective configuration and where each of its keys was set.
class Config {
 public:
  const YAML::Node& root() const { return root_; }
  YAML::Node& root() { return root_; }

  /// Merges a YAML file over what is there: maps merge key by key; lists, scalars and a `class_path`
  /// that changes replace. A missing file or a YAML syntax error is a diagnostic (LC0701, LC0702).
  void merge_file(const std::string& path, DiagnosticCollector& problems);
  /// Applies `--a.b=value` (sets; the value is read as YAML) or `--a.b+=value` (appends to a list; a
  /// bare name means `{class_path: name}`). `argument` is what the user typed, for locations.
  void apply_override(const std::string& key, const std::string& value, bool append, const std::string& argument,
                      DiagnosticCollector& problems);

  /// Where the value of `key` was written; where the nearest enclosing key was written otherwise.
  std::optional<SourceLocation> value_location(const std::string& key) const;
  /// Where `key` itself was written (for unknown keys), else the value's location.
  std::optional<SourceLocation> key_location(const std::string& key) const;
  bool has_location(const std::string& key) const { return locations_.count(key) > 0; }

 private:
  struct Located {
    SourceLocation key;
    SourceLocation value;
  };
  void record(const YAML::Node& node, const std::string& key, const SourceLocation& key_location,
              const std::string& file);
  /// The command line has no lines: every key under `key` is located at the argument itself.
  void record_everywhere(const YAML::Node& node, const std::string& key, const SourceLocation& location);
  void forget(const std::string& key);
  void merge(YAML::Node& into, const YAML::Node& from, const std::string& key);

  YAML::Node root_{YAML::NodeType::Map};
  std::map<std::string, Located> locations_;
};

}  // namespace lightning::cli
