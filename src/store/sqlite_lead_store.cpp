#include "store/sqlite_lead_store.h"

namespace callflow {

// Each method copies its arguments into the coroutine frame first: a string_view's text may not
// outlive the caller's first suspension.

boost::asio::awaitable<Result<std::optional<Lead>>> SqliteLeadStore::findByPhone(
    std::string_view phone) {
  std::string number(phone);
  Result<std::optional<Lead>> found = std::optional<Lead>();
  co_await worker_.run([&](Database& db) { found = db.leadByPhone(number); });
  co_return found;
}

boost::asio::awaitable<Result<std::optional<Lead>>> SqliteLeadStore::findByReference(
    std::string_view reference) {
  std::string wanted(reference);
  Result<std::optional<Lead>> found = std::optional<Lead>();
  co_await worker_.run([&](Database& db) { found = db.leadByReference(wanted); });
  co_return found;
}

boost::asio::awaitable<Result<std::int64_t>> SqliteLeadStore::create(Lead lead) {
  Result<std::int64_t> id = std::int64_t{0};
  co_await worker_.run([&](Database& db) { id = db.insertLead(lead); });
  co_return id;
}

boost::asio::awaitable<Result<void>> SqliteLeadStore::addToDnc(std::string_view number) {
  std::string text(number);
  Result<void> added;
  co_await worker_.run([&](Database& db) { added = db.addDnc(text, source_); });
  co_return added;
}

boost::asio::awaitable<Result<bool>> SqliteLeadStore::setField(std::int64_t lead_id,
                                                               LeadField field, std::string value) {
  Result<bool> written = false;
  co_await worker_.run([&](Database& db) { written = db.setLeadField(lead_id, field, value); });
  co_return written;
}

}  // namespace callflow
