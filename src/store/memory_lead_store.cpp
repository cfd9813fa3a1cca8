#include "store/memory_lead_store.h"

namespace callflow {

boost::asio::awaitable<Result<std::optional<Lead>>> MemoryLeadStore::findByPhone(
    std::string phone) {
  std::string wanted = phoneKey(phone, default_country_);
  if (!wanted.empty()) {
    for (const Lead& lead : leads_) {
      if (phoneKey(lead.field(LeadField::kPhoneNum), default_country_) == wanted) {
        co_return std::optional<Lead>(lead);
      }
    }
  }
  co_return std::optional<Lead>();
}

boost::asio::awaitable<Result<std::optional<Lead>>> MemoryLeadStore::findByReference(
    std::string reference) {
  for (const Lead& lead : leads_) {
    if (lead.field(LeadField::kReferenceId) == reference) co_return std::optional<Lead>(lead);
  }
  co_return std::optional<Lead>();
}

boost::asio::awaitable<Result<std::int64_t>> MemoryLeadStore::create(Lead lead) {
  co_return add(std::move(lead));
}

boost::asio::awaitable<Result<void>> MemoryLeadStore::addToDnc(std::string number) {
  std::string digits = phoneKey(number, default_country_);
  if (digits.empty()) {
    co_return fail(ErrorCode::kInvalidArgument, "\"" + std::string(number) + "\" has no digits");
  }
  dnc_.insert(digits);
  co_return Result<void>();
}

boost::asio::awaitable<Result<bool>> MemoryLeadStore::setField(std::int64_t lead_id,
                                                               LeadField field, std::string value) {
  for (Lead& lead : leads_) {
    if (lead.id == lead_id) {
      lead.field(field) = std::move(value);
      co_return true;
    }
  }
  co_return false;
}

std::int64_t MemoryLeadStore::add(Lead lead) {
  lead.id = ++next_id_;
  leads_.push_back(std::move(lead));
  return leads_.back().id;
}

}  // namespace callflow
