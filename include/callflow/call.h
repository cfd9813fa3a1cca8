// Call: the data of one call that elements read and write.
//
// A Call is owned by whoever started the call and lives on that call's worker thread from
// start to end, so nothing here is locked. It holds the call variables (`call.name`, …), the
// results of elements that have run (`GETAPI.Result.account.balance`), IvrData and dynamic
// properties, a view of the configured secrets (never copied into results or traces), and the
// trace the Runner and elements append to.
//
// Data paths are parsed and bound once, at flow load (see DataPath); reading one per call is
// an index into a vector, plus a walk of the JSON path for element results.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "callflow/trace.h"
#include "callflow/transfer_policy.h"

namespace boost::json {
class value;
}

namespace callflow {

class LeadStore;
class HttpClient;

// The call variables of the product (FLOW_FORMAT.md, "Fillpoints").
enum class CallVariable : std::uint8_t {
  kReferenceId,
  kName,
  kName2,
  kAddress,
  kCity,
  kPostalCode,
  kPhoneNum,
  kLeadId,
  kDnis,
  kCampaignId,
  kListId,
};
inline constexpr std::size_t kCallVariableCount = 11;
// The name after `call.`, e.g. "leadid".
std::string_view callVariableName(CallVariable variable);
std::optional<CallVariable> callVariableFromName(std::string_view name);

// A reference to a piece of call data, as written in a fillpoint or a setting
// (`call.leadid`, `GETAPI.Result.orders[0].id`, `LeadField`, `dynamic.Tier`, `secret.API_KEY`),
// bound to a slot at flow load.
struct DataPath {
  enum class Scope : std::uint8_t { kCallVariable, kElement, kIvrData, kDynamic, kSecret };
  enum class Field : std::uint8_t { kResult, kStatusCode, kError };
  struct Step {
    std::string key;  // object member, or empty when `index` is used
    int index = -1;   // array index, when >= 0
  };

  Scope scope = Scope::kIvrData;
  int slot = -1;  // call variable, element index, IvrData or dynamic slot; unused for secrets
  Field field = Field::kResult;
  std::vector<Step> steps;  // JSON path below `Result`
  std::string name;         // the element, property or secret name
  std::string text;         // the path as written, for messages
};

// What an element leaves behind for later elements: `NAME.Result`, `.StatusCode`, `.Error`.
struct ElementResult {
  bool ran = false;
  std::string text;                                // `NAME.Result`: the body or the digits
  std::shared_ptr<const boost::json::value> json;  // the body parsed, when it was JSON
  int status_code = 0;                             // `NAME.StatusCode`
  std::string error;                               // `NAME.Error`; empty on success
};

using SecretMap = std::map<std::string, std::string, std::less<>>;

// The outside services elements may use; any of them may be absent (null).
struct Services {
  LeadStore* leads = nullptr;
  HttpClient* http = nullptr;
  // Where Transfer may send the call; null: anywhere (simulations without a policy).
  const TransferPolicy* transfers = nullptr;
};

class Call {
 public:
  // Sizes come from the flow: its element count and its IvrData and dynamic property slots.
  Call(std::size_t elements, std::size_t ivr_data, std::size_t dynamic);

  const std::string& variable(CallVariable v) const {
    return variables_[static_cast<std::size_t>(v)];
  }
  void setVariable(CallVariable v, std::string value) {
    variables_[static_cast<std::size_t>(v)] = std::move(value);
  }

  ElementResult& result(int element) { return results_[static_cast<std::size_t>(element)]; }
  const ElementResult& result(int element) const {
    return results_[static_cast<std::size_t>(element)];
  }

  const std::optional<std::string>& ivrData(int slot) const {
    return ivr_data_[static_cast<std::size_t>(slot)];
  }
  void setIvrData(int slot, std::string value) {
    ivr_data_[static_cast<std::size_t>(slot)] = std::move(value);
  }
  const std::optional<std::string>& dynamic(int slot) const {
    return dynamic_[static_cast<std::size_t>(slot)];
  }
  void setDynamic(int slot, std::string value) {
    dynamic_[static_cast<std::size_t>(slot)] = std::move(value);
  }

  void setSecrets(const SecretMap* secrets) { secrets_ = secrets; }
  const SecretMap* secrets() const { return secrets_; }

  // Appends the value `path` names to `out`; false (and nothing appended) when it has none:
  // an element that has not run, a JSON path that is not in the body, an unset property.
  bool appendValue(const DataPath& path, std::string& out) const;
  std::optional<std::string> value(const DataPath& path) const;

  Services& services() { return services_; }
  Trace& trace() { return trace_; }
  const Trace& trace() const { return trace_; }

 private:
  std::array<std::string, kCallVariableCount> variables_;
  std::vector<ElementResult> results_;
  std::vector<std::optional<std::string>> ivr_data_;
  std::vector<std::optional<std::string>> dynamic_;
  const SecretMap* secrets_ = nullptr;
  Services services_;
  Trace trace_;
};

}  // namespace callflow
