// Leads, their custom fields and the do-not-call list (store/database.h).
#include <SQLiteCpp/SQLiteCpp.h>

#include "callflow/utf8.h"
#include "store/database.h"
#include "store/sqlite_guard.h"

namespace callflow {
namespace {

#define CALLFLOW_LEAD_SELECT                                                                      \
  "SELECT id, referenceid, name, name2, address, city, postalcode, phonenum, campaignid, listid " \
  "FROM leads "

// The column of each LeadField, in LeadField order (fixed names: never from input).
constexpr const char* kSetField[kLeadFieldCount] = {
    "UPDATE leads SET referenceid = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET name = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET name2 = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET address = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET city = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET postalcode = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET phonenum = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET campaignid = ?, updated_ms = ? WHERE id = ?",
    "UPDATE leads SET listid = ?, updated_ms = ? WHERE id = ?",
};

// What a lead field may hold, whoever writes it (import, APIs, SetProperty): well-formed UTF-8
// without NUL, at most 4096 bytes. Anything else would come back out as invalid JSON.
Result<void> checkText(std::string_view value, std::string_view field) {
  if (value.size() > 4096) {
    return fail(ErrorCode::kInvalidArgument,
                "lead field " + std::string(field) + " is longer than 4096 bytes");
  }
  if (value.find('\0') != std::string_view::npos || !isValidUtf8(value)) {
    return fail(ErrorCode::kInvalidArgument,
                "lead field " + std::string(field) + " is not UTF-8 text without NUL");
  }
  return {};
}

Result<void> checkLead(const Lead& lead) {
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    if (auto ok = checkText(lead.fields[i], leadFieldName(static_cast<LeadField>(i))); !ok) {
      return ok;
    }
  }
  for (const auto& [id, value] : lead.custom) {
    if (auto ok = checkText(value, "field:" + std::to_string(id)); !ok) return ok;
  }
  return {};
}

}  // namespace

Result<Lead> Database::readLead(SQLite::Statement& row) {
  Lead lead;
  lead.id = row.getColumn(0).getInt64();
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    lead.fields[i] = row.getColumn(static_cast<int>(i + 1)).getString();
  }
  auto custom =
      statement("SELECT field_id, value FROM lead_fields WHERE lead_id = ? ORDER BY field_id");
  custom->bind(1, static_cast<std::int64_t>(lead.id));
  while (custom->executeStep()) {
    lead.custom[custom->getColumn(0).getInt()] = custom->getColumn(1).getString();
  }
  return lead;
}

Result<std::vector<Lead>> Database::readLeads(SQLite::Statement& rows) {
  std::vector<Lead> leads;
  while (rows.executeStep()) {
    auto lead = readLead(rows);
    if (!lead) return lead.error();
    leads.push_back(std::move(*lead));
  }
  return leads;
}

Result<std::optional<Lead>> Database::firstLead(Result<std::vector<Lead>> leads) {
  if (!leads) return leads.error();
  if (leads->empty()) return std::optional<Lead>();
  return std::optional<Lead>(std::move(leads->front()));
}

Result<void> Database::writeCustomFields(std::int64_t id,
                                         const std::map<int, std::string>& custom) {
  return sqliteGuard("storing custom fields", [&] {
    for (const auto& [field_id, value] : custom) {
      auto write = statement(
          "INSERT INTO lead_fields (lead_id, field_id, value) VALUES (?, ?, ?) "
          "ON CONFLICT (lead_id, field_id) DO UPDATE SET value = excluded.value");
      write->bind(1, static_cast<std::int64_t>(id));
      write->bind(2, field_id);
      write->bindNoCopy(3, value);
      write->exec();
    }
  });
}

Result<std::int64_t> Database::insertLead(const Lead& lead) {
  if (auto ok = checkLead(lead); !ok) return ok.error();
  return transaction([&]() -> Result<std::int64_t> {
    auto id = sqliteGuard("storing a lead", [&] {
      auto insert = statement(
          "INSERT INTO leads (referenceid, name, name2, address, city, postalcode, phonenum, "
          "campaignid, listid, phone_key, created_ms, updated_ms) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
      for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
        insert->bindNoCopy(static_cast<int>(i + 1), lead.fields[i]);
      }
      insert->bind(10, key(lead.field(LeadField::kPhoneNum)));
      std::int64_t now = nowMs();
      insert->bind(11, now);
      insert->bind(12, now);
      insert->exec();
      return static_cast<std::int64_t>(db_->getLastInsertRowid());
    });
    if (!id) return id;
    if (auto written = writeCustomFields(*id, lead.custom); !written) return written.error();
    return id;
  });
}

Result<std::optional<Lead>> Database::leadById(std::int64_t id) {
  return sqliteGuard("reading a lead", [&]() -> Result<std::optional<Lead>> {
    auto query = statement(CALLFLOW_LEAD_SELECT "WHERE id = ?");
    query->bind(1, id);
    return firstLead(readLeads(*query));
  });
}

Result<std::vector<Lead>> Database::leadsByPhone(std::string_view phone, int limit) {
  std::string wanted = key(phone);
  if (wanted.empty()) return std::vector<Lead>();
  return sqliteGuard("finding leads by phone", [&]() -> Result<std::vector<Lead>> {
    auto query = statement(CALLFLOW_LEAD_SELECT "WHERE phone_key = ? ORDER BY id LIMIT ?");
    query->bind(1, wanted);
    query->bind(2, limit);
    return readLeads(*query);
  });
}

Result<std::optional<Lead>> Database::leadByPhone(std::string_view phone) {
  return firstLead(leadsByPhone(phone, 1));
}

Result<std::optional<Lead>> Database::leadByReference(std::string_view reference) {
  if (reference.empty()) return std::optional<Lead>();
  return sqliteGuard("finding a lead by reference", [&]() -> Result<std::optional<Lead>> {
    auto query = statement(CALLFLOW_LEAD_SELECT "WHERE referenceid = ? ORDER BY id LIMIT 1");
    query->bind(1, std::string(reference));
    return firstLead(readLeads(*query));
  });
}

Result<std::vector<Lead>> Database::listLeads(int limit, std::int64_t after_id) {
  return sqliteGuard("listing leads", [&]() -> Result<std::vector<Lead>> {
    auto query = statement(CALLFLOW_LEAD_SELECT "WHERE id > ? ORDER BY id LIMIT ?");
    query->bind(1, after_id);
    query->bind(2, limit);
    return readLeads(*query);
  });
}

Result<bool> Database::updateLead(const Lead& lead) {
  if (auto ok = checkLead(lead); !ok) return ok.error();
  return transaction([&]() -> Result<bool> {
    auto changed = sqliteGuard("updating a lead", [&] {
      auto update = statement(
          "UPDATE leads SET referenceid = ?, name = ?, name2 = ?, address = ?, city = ?, "
          "postalcode = ?, phonenum = ?, campaignid = ?, listid = ?, phone_key = ?, "
          "updated_ms = ? WHERE id = ?");
      for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
        update->bindNoCopy(static_cast<int>(i + 1), lead.fields[i]);
      }
      update->bind(10, key(lead.field(LeadField::kPhoneNum)));
      update->bind(11, nowMs());
      update->bind(12, static_cast<std::int64_t>(lead.id));
      return update->exec() > 0;
    });
    if (!changed || !*changed) return changed;
    auto cleared = sqliteGuard("updating a lead", [&] {
      auto clear = statement("DELETE FROM lead_fields WHERE lead_id = ?");
      clear->bind(1, static_cast<std::int64_t>(lead.id));
      clear->exec();
    });
    if (!cleared) return cleared.error();
    if (auto written = writeCustomFields(lead.id, lead.custom); !written) return written.error();
    return true;
  });
}

Result<bool> Database::setLeadField(std::int64_t id, LeadField field, std::string_view value) {
  if (auto ok = checkText(value, leadFieldName(field)); !ok) return ok.error();
  return sqliteGuard("updating a lead field", [&] {
    std::string text(value);
    if (field == LeadField::kPhoneNum) {
      auto update =
          statement("UPDATE leads SET phonenum = ?, phone_key = ?, updated_ms = ? WHERE id = ?");
      update->bind(1, text);
      update->bind(2, key(text));
      update->bind(3, nowMs());
      update->bind(4, id);
      return update->exec() > 0;
    }
    auto update = statement(kSetField[static_cast<std::size_t>(field)]);
    update->bind(1, text);
    update->bind(2, nowMs());
    update->bind(3, id);
    return update->exec() > 0;
  });
}

Result<bool> Database::setCustomField(std::int64_t id, int field_id, std::string_view value) {
  if (auto ok = checkText(value, "field:" + std::to_string(field_id)); !ok) return ok.error();
  return transaction([&]() -> Result<bool> {
    auto exists = sqliteGuard("updating a custom field", [&] {
      auto touch = statement("UPDATE leads SET updated_ms = ? WHERE id = ?");
      touch->bind(1, nowMs());
      touch->bind(2, id);
      return touch->exec() > 0;
    });
    if (!exists || !*exists) return exists;
    if (auto written = writeCustomFields(id, {{field_id, std::string(value)}}); !written) {
      return written.error();
    }
    return true;
  });
}

Result<std::optional<std::string>> Database::customField(std::int64_t id, int field_id) {
  return sqliteGuard("reading a custom field", [&] {
    auto query = statement("SELECT value FROM lead_fields WHERE lead_id = ? AND field_id = ?");
    query->bind(1, id);
    query->bind(2, field_id);
    if (!query->executeStep()) return std::optional<std::string>();
    return std::optional<std::string>(query->getColumn(0).getString());
  });
}

Result<bool> Database::deleteLead(std::int64_t id) {
  return sqliteGuard("deleting a lead", [&] {
    auto remove = statement("DELETE FROM leads WHERE id = ?");
    remove->bind(1, id);
    return remove->exec() > 0;
  });
}

Result<std::int64_t> Database::countLeads() {
  return sqliteGuard("counting leads", [&] {
    return static_cast<std::int64_t>(db_->execAndGet("SELECT count(*) FROM leads").getInt64());
  });
}

Result<void> Database::addDnc(std::string_view number, std::string_view source) {
  std::string number_key = key(number);
  if (number_key.empty()) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(number) + "\" has no digits");
  }
  return sqliteGuard("adding to the do-not-call list", [&] {
    auto insert = statement(
        "INSERT INTO dnc (number_key, number, added_ms, source) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (number_key) DO NOTHING");
    insert->bind(1, number_key);
    insert->bind(2, std::string(number));
    insert->bind(3, nowMs());
    insert->bind(4, std::string(source));
    insert->exec();
  });
}

Result<bool> Database::isDnc(std::string_view number) {
  std::string number_key = key(number);
  if (number_key.empty()) return false;
  return sqliteGuard("reading the do-not-call list", [&] {
    auto query = statement("SELECT 1 FROM dnc WHERE number_key = ?");
    query->bind(1, number_key);
    return query->executeStep();
  });
}

Result<bool> Database::removeDnc(std::string_view number) {
  std::string number_key = key(number);
  if (number_key.empty()) return false;
  return sqliteGuard("removing from the do-not-call list", [&] {
    auto remove = statement("DELETE FROM dnc WHERE number_key = ?");
    remove->bind(1, number_key);
    return remove->exec() > 0;
  });
}

Result<std::vector<DncEntry>> Database::listDnc(int limit) {
  return sqliteGuard("listing the do-not-call list", [&] {
    auto query = statement(
        "SELECT number, number_key, added_ms, source FROM dnc ORDER BY added_ms DESC, number_key "
        "LIMIT ?");
    query->bind(1, limit);
    std::vector<DncEntry> entries;
    while (query->executeStep()) {
      entries.push_back(DncEntry{query->getColumn(0).getString(), query->getColumn(1).getString(),
                                 query->getColumn(2).getInt64(), query->getColumn(3).getString()});
    }
    return entries;
  });
}

#undef CALLFLOW_LEAD_SELECT

}  // namespace callflow
