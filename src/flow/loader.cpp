// Loads a flow document (FLOW_FORMAT.md, version 1): strict JSON, the document keys, every
// element's common keys and type settings, then the checks that need the whole flow:
// references to elements and to their results that could not have run before, unreachable
// elements, loops that never wait for the caller.
#include <boost/json/value.hpp>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include "flow/flow.h"
#include "flow/json_text.h"
#include "flow/settings.h"

namespace callflow {
namespace {

constexpr int kMaxElements = 2000;

const char* const kExitKeys[kNamedExitCount] = {"output", "error", "noMatch", "noInput", "timeout"};

bool isResultCode(std::string_view code) { return Settings::isName(code); }

std::string exitList(const ElementType& type) {
  if (type.exits.empty()) return "none";
  std::string out;
  for (ExitKind exit : type.exits) {
    if (!out.empty()) out += ", ";
    out += exitName(exit);
  }
  return out;
}

// Reachability over the element graph, by breadth-first search from each node.
class Graph {
 public:
  explicit Graph(std::size_t size) : successors_(size) {}
  void add(int from, int to) { successors_[from].push_back(to); }
  const std::vector<int>& successors(int node) const { return successors_[node]; }

  // Nodes reachable from `from` through at least one edge.
  std::vector<bool> after(int from) const {
    std::vector<bool> seen(successors_.size(), false);
    std::vector<int> queue(successors_[from].begin(), successors_[from].end());
    for (int n : queue) seen[n] = true;
    for (std::size_t i = 0; i < queue.size(); ++i) {
      for (int next : successors_[queue[i]]) {
        if (!seen[next]) {
          seen[next] = true;
          queue.push_back(next);
        }
      }
    }
    return seen;
  }

 private:
  std::vector<std::vector<int>> successors_;
};

// Finds a cycle made only of elements that do not wait for the caller; returns its names.
std::vector<int> instantLoop(const Graph& graph, const Flow& flow) {
  std::size_t n = flow.nodes.size();
  std::vector<int> state(n, 0);  // 0 new, 1 on stack, 2 done
  std::vector<int> stack;
  std::vector<int> loop;
  auto instant = [&](int i) {
    return flow.nodes[i].type != nullptr && !flow.nodes[i].type->waits_for_caller &&
           flow.nodes[i].phrase.empty();
  };
  // Iterative DFS to stay safe on large flows.
  for (std::size_t root = 0; root < n && loop.empty(); ++root) {
    if (state[root] != 0 || !instant(static_cast<int>(root))) continue;
    std::vector<std::pair<int, std::size_t>> work{{static_cast<int>(root), 0}};
    state[root] = 1;
    stack.push_back(static_cast<int>(root));
    while (!work.empty() && loop.empty()) {
      auto& [node, edge] = work.back();
      const auto& next = graph.successors(node);
      if (edge == next.size()) {
        state[node] = 2;
        stack.pop_back();
        work.pop_back();
        continue;
      }
      int to = next[edge++];
      if (!instant(to)) continue;
      if (state[to] == 1) {
        auto it = std::find(stack.begin(), stack.end(), to);
        loop.assign(it, stack.end());
        loop.push_back(to);
      } else if (state[to] == 0) {
        state[to] = 1;
        stack.push_back(to);
        work.emplace_back(to, 0);
      }
    }
  }
  return loop;
}

void checkGraph(Flow& flow, LoadContext& context, Diagnostics& diagnostics) {
  std::size_t n = flow.nodes.size();
  Graph graph(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (int next : flow.nodes[i].next) {
      if (next >= 0) graph.add(static_cast<int>(i), next);
    }
  }
  for (auto [from, to] : context.edges()) graph.add(from, to);

  std::vector<bool> reachable = graph.after(flow.start);
  reachable[flow.start] = true;
  for (std::size_t i = 0; i < n; ++i) {
    if (!reachable[i]) {
      diagnostics.warning(flow.nodes[i].name, "", "no path from \"start\" reaches this element");
    }
  }

  // A result read by element `from` must come from an element `to` that can run before it:
  // reachable from the start, with `from` reachable after it.
  std::vector<std::vector<bool>> after_cache(n);
  for (const auto& reference : context.references()) {
    if (!reachable[reference.from]) continue;
    auto& after = after_cache[reference.to];
    if (after.empty()) after = graph.after(reference.to);
    if (!reachable[reference.to] || !after[reference.from]) {
      diagnostics.error(flow.nodes[reference.from].name, reference.key,
                        "fillpoint \"" + reference.path + "\": element \"" +
                            flow.nodes[reference.to].name + "\" cannot have run before \"" +
                            flow.nodes[reference.from].name + "\"");
    }
  }

  const auto& written = context.ivrDataWritten();
  const auto& readers = context.ivrDataReaders();
  for (std::size_t slot = 0; slot < written.size(); ++slot) {
    if (written[slot]) continue;
    auto [reader, key] = readers[slot];
    diagnostics.warning(
        reader >= 0 ? flow.nodes[reader].name : std::string(), key,
        "no SetProperty sets IvrData \"" + context.ivrDataNames()[slot] + "\"; it will be empty");
  }

  if (auto loop = instantLoop(graph, flow); !loop.empty()) {
    std::string names;
    for (int node : loop) names += (names.empty() ? "" : " -> ") + flow.nodes[node].name;
    diagnostics.warning(flow.nodes[loop.front()].name, "",
                        "loop that never waits for the caller: " + names +
                            " (a call stuck in it ends after 1000 elements)");
  }
}

// The designer's `samples`: for each ApiRequest, the body of its last test response, so that
// result paths can be checked against what the API really answered (FLOW_FORMAT.md, "Designer
// keys"). Only bodies that are JSON objects or lists are kept: a path below a text has nothing to
// be checked against.
using SampleBodies = std::map<std::string, const boost::json::value*, std::less<>>;

SampleBodies readSamples(const boost::json::value& samples, const LoadContext& context,
                         Diagnostics& diagnostics) {
  SampleBodies bodies;
  if (!samples.is_object()) {
    diagnostics.error("", "samples", "must be an object of ApiRequest names to test responses");
    return bodies;
  }
  for (const auto& [key, sample] : samples.get_object()) {
    std::string name(key.data(), key.size());
    std::string label = "samples." + name;
    if (!sample.is_object()) {
      diagnostics.error("", label, "must be an object with \"body\"");
      continue;
    }
    const boost::json::value* body = sample.get_object().if_contains("body");
    if (body == nullptr) {
      diagnostics.error("", label, "\"body\" missing");
      continue;
    }
    auto element = context.elementIndex(name);
    const ElementType* type = element ? context.elementType(*element) : nullptr;
    if (type == nullptr || type->name != "ApiRequest") {
      diagnostics.warning("", label,
                          type == nullptr ? "no ApiRequest element named \"" + name + "\""
                                          : "element \"" + name + "\" is " +
                                                std::string(type->name) + ", not ApiRequest");
      continue;
    }
    if (body->is_object() || body->is_array()) bodies.emplace(std::move(name), body);
  }
  return bodies;
}

// The first part of `steps` that `body` does not have, as written (`account.balanse`,
// `orders[3]`); empty when the whole path is there. Walks the body as Call::appendValue does.
std::string missingPart(const boost::json::value& body, const std::vector<DataPath::Step>& steps) {
  const boost::json::value* at = &body;
  std::string written;
  for (const DataPath::Step& step : steps) {
    if (step.index >= 0) {
      written += "[" + std::to_string(step.index) + "]";
      const auto* array = at->if_array();
      if (array == nullptr || static_cast<std::size_t>(step.index) >= array->size()) {
        return written;
      }
      at = &(*array)[static_cast<std::size_t>(step.index)];
    } else {
      written += (written.empty() ? "" : ".") + step.key;
      const auto* object = at->if_object();
      const boost::json::value* member = object ? object->if_contains(step.key) : nullptr;
      if (member == nullptr) return written;
      at = member;
    }
  }
  return {};
}

// Warns about each `X.Result.<path>` that X's sample response does not have.
void checkSamplePaths(const SampleBodies& bodies, const LoadContext& context,
                      Diagnostics& diagnostics) {
  if (bodies.empty()) return;
  std::set<std::tuple<int, std::string, std::string>> warned;
  for (const auto& reference : context.references()) {
    if (reference.field != DataPath::Field::kResult || reference.steps.empty()) continue;
    const std::string& source = context.elementName(reference.to);
    auto sample = bodies.find(source);
    if (sample == bodies.end()) continue;
    std::string missing = missingPart(*sample->second, reference.steps);
    if (missing.empty()) continue;
    if (!warned.emplace(reference.from, reference.key, reference.path).second) continue;
    diagnostics.warning(context.elementName(reference.from), reference.key,
                        "\"" + reference.path + "\": the last test response of " + source +
                            " has no \"" + missing + "\"");
  }
}

}  // namespace

std::optional<int> Flow::find(std::string_view element_name) const {
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].name == element_name) return static_cast<int>(i);
  }
  return std::nullopt;
}

void checkDialTargets(const Flow& flow, const TransferPolicy* policy, Diagnostics& diagnostics) {
  for (const DialTarget& dial : flow.dial_targets) {
    if (!dial.fixed) {
      diagnostics.warning(dial.element, "target",
                          "is built from call data: the call is transferred only when the "
                          "result matches a transfer allowlist pattern (--transfer-allow), "
                          "else Transfer exits error");
    } else if (policy != nullptr && !policy->permits(dial.target)) {
      diagnostics.error(dial.element, "target",
                        "\"" + dial.target + "\" is not in the transfer allowlist" +
                            (policy->patterns.empty() ? " (no --transfer-allow is given: "
                                                        "no transfer is allowed)"
                                                      : " (--transfer-allow)"));
    }
  }
}

LoadedFlow loadFlow(std::string_view json_text, std::span<const ElementType> registry) {
  LoadedFlow loaded;
  Diagnostics& diagnostics = loaded.diagnostics;
  if (json_text.size() > kMaxFlowBytes) {
    diagnostics.error("", "", "the document is larger than 16 MiB");
    return loaded;
  }
  boost::json::value document;
  JsonError json_error;
  if (!parseStrictJson(json_text, document, json_error)) {
    diagnostics.syntax(json_error.line, json_error.column, json_error.message);
    return loaded;
  }
  if (!document.is_object()) {
    diagnostics.error("", "", "the document must be a JSON object with \"start\" and \"elements\"");
    return loaded;
  }

  auto flow = std::make_shared<Flow>();
  LoadContext context(diagnostics, registry);

  // Document keys are read through a Settings with no element (index -1 is never shown:
  // problems go through diagnostics directly below).
  const boost::json::object& root = document.get_object();
  auto doc_error = [&](std::string key, std::string message) {
    diagnostics.error("", std::move(key), std::move(message));
  };
  for (const auto& [key, value] : root) {
    std::string_view k(key.data(), key.size());
    static constexpr std::string_view kKnown[] = {
        "format",   "name",   "description", "start", "defaultResultCode",
        "elements", "layout", "samples"};
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown) &&
        (k.empty() || k.front() != '_')) {
      doc_error(std::string(k), "unknown key");
    }
  }
  if (auto it = root.find("format"); it != root.end()) {
    if (!it->value().is_number() || it->value().to_number<double>() != 1) {
      doc_error("format", "must be 1 (this is flow format version 1)");
    }
  }
  if (auto it = root.find("name"); it != root.end()) {
    if (!it->value().is_string() || !Settings::isName(it->value().get_string())) {
      doc_error("name", "must be a name of letters, digits, '_' and '-' (at most 64)");
    } else {
      flow->name = std::string(it->value().get_string());
    }
  }
  if (auto it = root.find("description"); it != root.end()) {
    if (!it->value().is_string()) {
      doc_error("description", "must be a string");
    } else {
      flow->description = std::string(it->value().get_string());
    }
  }
  // The designer's node positions: any object, never read by the engine.
  if (auto it = root.find("layout"); it != root.end() && !it->value().is_object()) {
    doc_error("layout", "must be an object");
  }
  if (auto it = root.find("defaultResultCode"); it != root.end()) {
    if (!it->value().is_string() || !isResultCode(it->value().get_string()) ||
        it->value().get_string() == "default") {
      doc_error("defaultResultCode", "must be a result code of letters, digits, '_' and '-'");
    } else {
      flow->default_result_code = std::string(it->value().get_string());
    }
  }

  auto elements_it = root.find("elements");
  if (elements_it == root.end() || !elements_it->value().is_array() ||
      elements_it->value().get_array().empty()) {
    doc_error("elements", elements_it == root.end() ? "missing" : "must be a non-empty list");
    if (root.find("start") == root.end()) doc_error("start", "missing");
    return loaded;
  }
  const boost::json::array& elements = elements_it->value().get_array();
  if (elements.size() > kMaxElements) {
    doc_error("elements", "more than " + std::to_string(kMaxElements) + " elements");
    return loaded;
  }

  // First pass: names and types, so elements can refer to each other in any order.
  std::vector<std::string> names(elements.size());
  std::vector<const ElementType*> types(elements.size(), nullptr);
  for (std::size_t i = 0; i < elements.size(); ++i) {
    std::string label = "elements[" + std::to_string(i) + "]";
    if (!elements[i].is_object()) {
      doc_error(label, "must be an object");
      continue;
    }
    const auto& object = elements[i].get_object();
    auto name_it = object.find("name");
    std::string name;
    if (name_it == object.end() || !name_it->value().is_string()) {
      doc_error(label, name_it == object.end() ? "\"name\" missing" : "\"name\" must be a string");
      continue;
    }
    name = std::string(name_it->value().get_string());
    if (!Settings::isName(name)) {
      doc_error(label, "name \"" + name +
                           "\": use letters, digits, '_' and '-' only (no spaces, at most 64)");
      continue;
    }
    if (name == "call" || name == "dynamic" || name == "secret") {
      diagnostics.error(name, "name", "\"" + name + "\" is reserved for fillpoints");
      continue;
    }
    if (std::find(names.begin(), names.end(), name) != names.end()) {
      diagnostics.error(name, "name", "duplicate element name");
      continue;
    }
    names[i] = name;
    auto type_it = object.find("type");
    if (type_it == object.end() || !type_it->value().is_string()) {
      diagnostics.error(name, "type", type_it == object.end() ? "missing" : "must be a string");
      continue;
    }
    std::string_view type_name = type_it->value().get_string();
    for (const ElementType& type : registry) {
      if (type.name == type_name) types[i] = &type;
    }
    if (types[i] == nullptr) {
      std::string known;
      for (const ElementType& type : registry) {
        known += (known.empty() ? "" : ", ") + std::string(type.name);
      }
      diagnostics.error(name, "type",
                        "unknown type \"" + std::string(type_name) + "\" (known: " + known + ")");
    }
  }
  context.setElements(names, types);

  // Second pass: common keys, exits, then the type's own settings.
  flow->nodes.resize(elements.size());
  for (std::size_t i = 0; i < elements.size(); ++i) {
    Node& node = flow->nodes[i];
    node.name = names[i];
    node.type = types[i];
    if (types[i] == nullptr) continue;
    int index = static_cast<int>(i);
    context.beginElement(index);
    Settings settings(elements[i].get_object(), context, index, "");
    (void)settings.string("name");
    (void)settings.string("type");
    node.description = settings.string("description").value_or("");
    node.agents_can_see = settings.boolean("agentsCanSee").value_or(false);
    node.supervisor_can_see = settings.boolean("supervisorCanSee").value_or(false);
    if (auto code = settings.string("resultCode")) {
      if (!isResultCode(*code)) {
        settings.problem("resultCode",
                         "must be \"default\" or a code of letters, digits, '_' and '-'");
      } else if (*code != "default") {
        node.result_code = *code;
      }
    }
    if (auto phrase = settings.stringList("phrase")) {
      for (std::size_t p = 0; p < phrase->size(); ++p) {
        const std::string& file = (*phrase)[p];
        if (file.empty() || file.size() > 255 || file.find("..") != std::string::npos ||
            file.front() == '/' || file.find('\\') != std::string::npos) {
          settings.problem("phrase[" + std::to_string(p) + "]",
                           "must be a file name under the prompts folder");
        }
      }
      node.phrase = std::move(*phrase);
    }
    if (Settings* next = settings.object("next")) {
      for (std::size_t e = 0; e < kNamedExitCount; ++e) {
        auto exit = static_cast<ExitKind>(e);
        if (!next->has(kExitKeys[e])) continue;
        bool allowed = std::find(node.type->exits.begin(), node.type->exits.end(), exit) !=
                       node.type->exits.end();
        if (!allowed) {
          (void)next->raw(kExitKeys[e]);
          next->problem(kExitKeys[e], std::string(node.type->name) + " has no exit \"" +
                                          kExitKeys[e] + "\" (its exits: " + exitList(*node.type) +
                                          ")");
          continue;
        }
        if (auto to = next->target(kExitKeys[e])) node.next[e] = *to;
      }
      // Keys that are no exit at all are reported by finish() as unknown settings; say more.
      const auto& object = elements[i].get_object().at("next").get_object();
      for (const auto& [key, value] : object) {
        std::string_view k(key.data(), key.size());
        if (std::find(std::begin(kExitKeys), std::end(kExitKeys), k) == std::end(kExitKeys)) {
          (void)next->raw(k);
          next->problem(k, "unknown exit \"" + std::string(k) + "\" (" +
                               std::string(node.type->name) + " exits: " + exitList(*node.type) +
                               ")");
        }
      }
    }
    settings.setPhrase(node.phrase);
    node.element = node.type->load(settings);
    settings.finish();
  }
  context.beginElement(-1);

  if (auto it = root.find("start"); it == root.end()) {
    doc_error("start", "missing");
  } else if (!it->value().is_string()) {
    doc_error("start", "must be the name of an element");
  } else if (auto start = context.elementIndex(it->value().get_string())) {
    flow->start = *start;
  } else if (!context.isUntypedElement(it->value().get_string())) {
    doc_error("start", "no element named \"" + std::string(it->value().get_string()) + "\"");
  }

  flow->ivr_data_names = context.ivrDataNames();
  flow->dynamic_names = context.takeDynamicNames();
  flow->secret_names = context.secretNames();
  flow->dial_targets = context.takeDialTargets();
  for (Node& node : flow->nodes) {
    if (node.result_code.empty()) node.result_code = flow->default_result_code;
  }
  if (auto it = root.find("samples"); it != root.end()) {
    checkSamplePaths(readSamples(it->value(), context, diagnostics), context, diagnostics);
  }
  if (diagnostics.hasErrors()) return loaded;
  checkGraph(*flow, context, diagnostics);
  if (diagnostics.hasErrors()) return loaded;
  loaded.flow = std::move(flow);
  return loaded;
}

LoadedFlow loadFlowFile(const std::string& path, std::span<const ElementType> registry) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    LoadedFlow loaded;
    loaded.diagnostics.error("", "", "cannot read \"" + path + "\"");
    return loaded;
  }
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  if (size > kMaxFlowBytes) {
    LoadedFlow loaded;
    loaded.diagnostics.error("", "", "the document is larger than 16 MiB");
    return loaded;
  }
  in.seekg(0);
  std::string text(size, '\0');
  in.read(text.data(), static_cast<std::streamsize>(size));
  return loadFlow(text, registry);
}

}  // namespace callflow
