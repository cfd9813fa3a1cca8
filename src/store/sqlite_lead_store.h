// SqliteLeadStore: the lead elements' view of the database, through the DbWorker thread, so a
// lookup never blocks the call's event loop.
#pragma once

#include "callflow/lead_store.h"
#include "store/db_worker.h"

namespace callflow {

class SqliteLeadStore : public LeadStore {
 public:
  // source names who adds to the DNC list ("flow NAME"), for the list's records.
  SqliteLeadStore(DbWorker& worker, std::string source)
      : worker_(worker), source_(std::move(source)) {}

  boost::asio::awaitable<Result<std::optional<Lead>>> findByPhone(std::string phone) override;
  boost::asio::awaitable<Result<std::optional<Lead>>> findByReference(
      std::string reference) override;
  boost::asio::awaitable<Result<std::int64_t>> create(Lead lead) override;
  boost::asio::awaitable<Result<void>> addToDnc(std::string number) override;
  boost::asio::awaitable<Result<bool>> setField(std::int64_t lead_id, LeadField field,
                                                std::string value) override;

 private:
  DbWorker& worker_;
  std::string source_;
};

}  // namespace callflow
