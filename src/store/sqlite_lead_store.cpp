#include "store/sqlite_lead_store.h"

namespace callflow {

// Arguments are taken by value: an awaitable starts when it is awaited, not when it is made, so a
// view's text could be gone by then.

boost::asio::awaitable<Result<std::optional<Lead>>> SqliteLeadStore::findByPhone(
    std::string phone) {
  Result<std::optional<Lead>> found = std::optional<Lead>();
  co_await worker_.run([&](Database& db) { found = db.leadByPhone(phone); });
  co_return found;
}

boost::asio::awaitable<Result<std::optional<Lead>>> SqliteLeadStore::findByReference(
    std::string reference) {
  Result<std::optional<Lead>> found = std::optional<Lead>();
  co_await worker_.run([&](Database& db) { found = db.leadByReference(reference); });
  co_return found;
}

boost::asio::awaitable<Result<std::int64_t>> SqliteLeadStore::create(Lead lead) {
  Result<std::int64_t> id = std::int64_t{0};
  co_await worker_.run([&](Database& db) { id = db.insertLead(lead); });
  co_return id;
}

boost::asio::awaitable<Result<void>> SqliteLeadStore::addToDnc(std::string number) {
  Result<void> added;
  co_await worker_.run([&](Database& db) { added = db.addDnc(number, source_); });
  co_return added;
}

boost::asio::awaitable<Result<bool>> SqliteLeadStore::setField(std::int64_t lead_id,
                                                               LeadField field, std::string value) {
  Result<bool> written = false;
  co_await worker_.run([&](Database& db) { written = db.setLeadField(lead_id, field, value); });
  co_return written;
}

}  // namespace callflow
