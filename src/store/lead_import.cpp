#include "store/lead_import.h"

#include <charconv>
#include <optional>

#include "callflow/utf8.h"
#include "store/csv.h"
#include "store/phone.h"

namespace callflow {
namespace {

struct Column {
  std::optional<LeadField> field;
  int custom_id = -1;
};

}  // namespace

int customFieldId(std::string_view name) {
  constexpr std::string_view kPrefix = "field:";
  if (name.substr(0, kPrefix.size()) != kPrefix) return -1;
  name.remove_prefix(kPrefix.size());
  int id = -1;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
  if (name.empty() || ec != std::errc() || end != name.data() + name.size() || id < 0) return -1;
  return id;
}

Result<ImportReport> importLeadsCsv(Database& database, std::istream& in, int batch_size,
                                    ImportReport* progress) {
  CsvReader reader(in);
  CsvRecord header;
  if (!reader.next(header)) return fail(ErrorCode::kInvalidArgument, "the file is empty");
  if (!header.error.empty()) {
    return fail(ErrorCode::kInvalidArgument,
                "line " + std::to_string(header.line) + ": " + header.error);
  }
  std::vector<Column> columns;
  bool has_field = false;
  for (std::size_t i = 0; i < header.fields.size(); ++i) {
    std::string name = header.fields[i];
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
    while (!name.empty() && (name.front() == ' ' || name.front() == '\t')) name.erase(0, 1);
    Column column;
    if (auto field = leadFieldFromName(name)) {
      column.field = field;
    } else if (int id = customFieldId(name); id >= 0) {
      column.custom_id = id;
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "line 1: column " + std::to_string(i + 1) + " \"" + name +
                      "\" is not a lead field (referenceid, name, name2, address, city, "
                      "postalcode, phonenum, campaignid, listid, field:ID)");
    }
    for (const Column& seen : columns) {
      if ((column.field && seen.field == column.field) ||
          (column.custom_id >= 0 && seen.custom_id == column.custom_id)) {
        return fail(ErrorCode::kInvalidArgument, "line 1: column \"" + name + "\" appears twice");
      }
    }
    has_field = true;
    columns.push_back(column);
  }
  if (!has_field) return fail(ErrorCode::kInvalidArgument, "line 1: no columns");

  ImportReport report;
  std::vector<Lead> batch;
  auto flush = [&]() -> Result<void> {
    if (batch.empty()) return {};
    auto stored = database.transaction([&]() -> Result<int> {
      for (const Lead& lead : batch) {
        if (auto id = database.insertLead(lead); !id) return id.error();
      }
      return static_cast<int>(batch.size());
    });
    if (!stored) return stored.error();
    report.imported += *stored;
    if (progress) *progress = report;
    batch.clear();
    return {};
  };

  CsvRecord record;
  while (reader.next(record)) {
    auto reject = [&](std::string reason) {
      report.rejected.emplace_back(record.line, std::move(reason));
    };
    if (!record.error.empty()) {
      reject(record.error);
      continue;
    }
    if (record.fields.size() == 1 && record.fields[0].empty()) continue;  // a blank line
    if (record.fields.size() != columns.size()) {
      reject(std::to_string(record.fields.size()) + " fields, the header has " +
             std::to_string(columns.size()));
      continue;
    }
    Lead lead;
    std::string problem;
    for (std::size_t i = 0; i < columns.size() && problem.empty(); ++i) {
      std::string& value = record.fields[i];
      if (!isValidUtf8(value)) {
        problem = "column " + std::to_string(i + 1) + " is not valid UTF-8";
      } else if (value.size() > 4096) {
        problem = "column " + std::to_string(i + 1) + " is longer than 4096 bytes";
      } else if (columns[i].field) {
        lead.field(*columns[i].field) = std::move(value);
      } else if (!value.empty()) {
        lead.custom[columns[i].custom_id] = std::move(value);
      }
    }
    const std::string& phone = lead.field(LeadField::kPhoneNum);
    if (problem.empty() && !phone.empty() && phoneDigits(phone).empty()) {
      problem = "phonenum \"" + phone + "\" has no digits";
    }
    if (!problem.empty()) {
      reject(std::move(problem));
      continue;
    }
    batch.push_back(std::move(lead));
    if (static_cast<int>(batch.size()) >= batch_size) {
      if (auto flushed = flush(); !flushed) return flushed.error();
    }
  }
  if (in.bad()) return fail(ErrorCode::kUnavailable, "reading the file failed");
  if (auto flushed = flush(); !flushed) return flushed.error();
  return report;
}

}  // namespace callflow
