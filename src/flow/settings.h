// Settings: typed, checked access to one element's JSON settings while its type loads it.
//
// Every getter marks its key as known and reports a wrong type or range with the element's name
// and the key (`element "Ask": key "maxDigits": must be at most 64`); finish() then reports the
// keys nobody asked for, so a misspelt setting is an error rather than silently ignored.
// Nested objects (`destination`, `branches[2]`) are Settings of their own with a key prefix.
#pragma once

#include <boost/json/fwd.hpp>
#include <deque>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/call.h"
#include "callflow/element.h"
#include "flow/diagnostics.h"
#include "flow/fillpoint.h"
#include "flow/flow.h"

namespace callflow {

class LoadContext;

struct NumberRange {
  double min;
  double max;
  bool min_exclusive = false;
};

class Settings {
 public:
  Settings(const boost::json::object& object, LoadContext& context, int element,
           std::string prefix);

  const std::string& elementName() const;
  int elementIndex() const { return element_; }
  LoadContext& context() { return context_; }

  bool has(std::string_view key) const;
  // nullopt when absent (`required` reports it) or of the wrong type (reported).
  std::optional<std::string> string(std::string_view key, bool required = false);
  std::optional<double> number(std::string_view key, NumberRange range, bool required = false);
  std::optional<int> integer(std::string_view key, int min, int max, bool required = false);
  std::optional<bool> boolean(std::string_view key);
  // A list of strings, or absent (empty).
  std::optional<std::vector<std::string>> stringList(std::string_view key);
  std::optional<Template> text(std::string_view key, Encoding encoding, bool required = false);
  // Parses text already read (e.g. one header out of a list) as a template of `key`.
  std::optional<Template> textFrom(std::string_view key, std::string_view source,
                                   Encoding encoding);
  std::optional<DataPath> dataPath(std::string_view key, bool required = false);
  // An element name another element routes to; records the edge for the graph checks.
  std::optional<int> target(std::string_view key, bool required = false);
  std::optional<int> targetFrom(std::string_view key, std::string_view name);
  // A nested object; null when absent (`required` reports it) or not an object.
  Settings* object(std::string_view key, bool required = false);
  // The nested objects of an array; nullopt when absent or not an array of objects.
  std::optional<std::vector<Settings*>> objects(std::string_view key, bool required = false);
  // The raw value, for shapes the getters do not cover; marks the key as known.
  const boost::json::value* raw(std::string_view key);

  void problem(std::string_view key, std::string message);
  void warning(std::string_view key, std::string message);
  // Reports keys never asked for (here and in nested Settings). Returns true when this element
  // had no problem at all.
  bool finish();

  // Whether `name` is a valid element, property or flow name: letters, digits, '_' and '-'.
  static bool isName(std::string_view name);

  // The element's `phrase`, already read by the flow loader.
  void setPhrase(const std::vector<std::string>& phrase) { phrase_ = &phrase; }
  const std::vector<std::string>& phrase() const { return *phrase_; }

 private:
  std::string keyName(std::string_view key) const;
  const boost::json::value* find(std::string_view key, bool required);

  const boost::json::object& object_;
  LoadContext& context_;
  int element_;
  std::string prefix_;
  std::set<std::string, std::less<>> known_;
  std::deque<Settings> children_;
  int problems_ = 0;
  bool finished_ = false;
  const std::vector<std::string>* phrase_ = nullptr;
};

// What element loaders need to know of the whole flow while they load, and what they leave
// for the checks that need the whole flow (edges, data references).
class LoadContext : public PathBinder {
 public:
  struct Reference {
    int from;         // the element whose setting reads it
    int to;           // the element whose result it reads
    std::string key;  // the setting
    std::string path;
    DataPath::Field field = DataPath::Field::kResult;
    std::vector<DataPath::Step> steps;  // the JSON path below `Result` (empty: the whole body)
  };

  LoadContext(Diagnostics& diagnostics, std::span<const ElementType> registry);

  Diagnostics& diagnostics() { return diagnostics_; }
  void setElements(std::vector<std::string> names, std::vector<const ElementType*> types);
  std::optional<int> elementIndex(std::string_view name) const;
  // Whether `name` is an element whose type is unknown: references to it are not reported
  // again (its `type` was).
  bool isUntypedElement(std::string_view name) const;
  const std::string& elementName(int index) const { return names_[index]; }
  const ElementType* elementType(int index) const { return types_[index]; }

  int ivrDataSlot(std::string_view name, bool written);
  int dynamicSlot(std::string_view name, bool written);

  // Set while one element loads, so bind() can record who reads what.
  void beginElement(int index) { current_ = index; }
  void setCurrentKey(std::string key) { current_key_ = std::move(key); }
  std::string bind(DataPath& path) override;

  void addEdge(int from, int to) { edges_.push_back({from, to}); }

  const std::vector<std::pair<int, int>>& edges() const { return edges_; }
  const std::vector<Reference>& references() const { return references_; }
  std::vector<std::string> takeDynamicNames() { return std::move(dynamic_names_); }
  const std::vector<bool>& ivrDataWritten() const { return ivr_data_written_; }
  const std::vector<std::string>& ivrDataNames() const { return ivr_data_names_; }
  // The first element that read each IvrData slot, for warnings.
  const std::vector<std::pair<int, std::string>>& ivrDataReaders() const {
    return ivr_data_readers_;
  }
  std::set<std::string, std::less<>>& secretNames() { return secret_names_; }
  // A Transfer's target (its element is the one loading), for the transfer allowlist.
  void addDialTarget(std::string target, bool fixed) {
    dial_targets_.push_back({names_[current_], std::move(target), fixed});
  }
  std::vector<DialTarget> takeDialTargets() { return std::move(dial_targets_); }

 private:
  Diagnostics& diagnostics_;
  std::span<const ElementType> registry_;
  std::vector<std::string> names_;
  std::vector<const ElementType*> types_;
  std::vector<std::string> ivr_data_names_;
  std::vector<bool> ivr_data_written_;
  std::vector<std::pair<int, std::string>> ivr_data_readers_;
  std::vector<std::string> dynamic_names_;
  std::vector<std::pair<int, int>> edges_;
  std::vector<Reference> references_;
  std::set<std::string, std::less<>> secret_names_;
  std::vector<DialTarget> dial_targets_;
  int current_ = -1;
  std::string current_key_;
};

}  // namespace callflow
