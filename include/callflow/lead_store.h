// LeadStore: the contact centre's leads and do-not-call list, as the lead elements see them.
//
// Implementations: an in-memory store (src/store/memory_lead_store.h) for the simulator and
// tests; the SQLite store (src/store/sqlite_lead_store.h). Called from a call's worker; an
// implementation that does I/O must not block that thread (it posts the work elsewhere and resumes
// the call).
#pragma once

#include <array>
#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "callflow/result.h"

namespace callflow {

// The standard lead fields behind the call variables, in this order.
enum class LeadField : std::uint8_t {
  kReferenceId,
  kName,
  kName2,
  kAddress,
  kCity,
  kPostalCode,
  kPhoneNum,
  kCampaignId,
  kListId,
};
inline constexpr std::size_t kLeadFieldCount = 9;
std::string_view leadFieldName(LeadField field);
std::optional<LeadField> leadFieldFromName(std::string_view name);

struct Lead {
  std::int64_t id = 0;
  std::array<std::string, kLeadFieldCount> fields;
  std::map<int, std::string> custom;  // custom fields by numeric id (e.g. 158)

  const std::string& field(LeadField f) const { return fields[static_cast<std::size_t>(f)]; }
  std::string& field(LeadField f) { return fields[static_cast<std::size_t>(f)]; }
};

class LeadStore {
 public:
  virtual ~LeadStore() = default;
  virtual boost::asio::awaitable<Result<std::optional<Lead>>> findByPhone(std::string phone) = 0;
  virtual boost::asio::awaitable<Result<std::optional<Lead>>> findByReference(
      std::string reference) = 0;
  // Stores a new lead; returns its id.
  virtual boost::asio::awaitable<Result<std::int64_t>> create(Lead lead) = 0;
  virtual boost::asio::awaitable<Result<void>> addToDnc(std::string number) = 0;
  // Writes one standard field of a stored lead (SetProperty to a CallProperty); false when
  // there is no lead with that id.
  virtual boost::asio::awaitable<Result<bool>> setField(std::int64_t lead_id, LeadField field,
                                                        std::string value) = 0;
};

}  // namespace callflow
