// MemoryLeadStore: leads and a do-not-call list kept in memory, for `callflow run` without a
// database and for tests. Phone numbers match on their key as the SQLite store does
// (store/phone.h: "+44 20 7946 0000" matches "020 7946 0000"). Not thread-safe: one call's worker
// uses it at a time.
#pragma once

#include <set>
#include <vector>

#include "callflow/lead_store.h"
#include "store/phone.h"

namespace callflow {

class MemoryLeadStore : public LeadStore {
 public:
  // default_country: of national numbers ("0…"), as DatabaseOptions::default_country.
  explicit MemoryLeadStore(std::string default_country = std::string(kDefaultCountry))
      : default_country_(std::move(default_country)) {}

  boost::asio::awaitable<Result<std::optional<Lead>>> findByPhone(std::string phone) override;
  boost::asio::awaitable<Result<std::optional<Lead>>> findByReference(
      std::string reference) override;
  boost::asio::awaitable<Result<std::int64_t>> create(Lead lead) override;
  boost::asio::awaitable<Result<void>> addToDnc(std::string number) override;
  boost::asio::awaitable<Result<bool>> setField(std::int64_t lead_id, LeadField field,
                                                std::string value) override;

  // Adds a lead directly (seeding); returns its id.
  std::int64_t add(Lead lead);
  const std::vector<Lead>& leads() const { return leads_; }
  const std::set<std::string>& dnc() const { return dnc_; }

 private:
  std::vector<Lead> leads_;
  std::set<std::string> dnc_;
  std::int64_t next_id_ = 1000;
  std::string default_country_;
};

}  // namespace callflow
