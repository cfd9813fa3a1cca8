#include "store/lead_json.h"

#include <boost/json.hpp>

#include "store/lead_import.h"

namespace callflow {
namespace {

constexpr std::string_view kWebApiNames[kLeadFieldCount] = {
    "ReferenceId", "Name",     "Name2",      "Address", "City",
    "PostalCode",  "PhoneNum", "CampaignId", "ListId"};

constexpr std::size_t kMaxValueBytes = 4096;

Result<std::string> textValue(const boost::json::value& value, std::string_view key) {
  if (!value.is_string()) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(key) + "\" must be text");
  }
  std::string text(value.get_string());
  if (text.size() > kMaxValueBytes) {
    return fail(ErrorCode::kInvalidArgument,
                "\"" + std::string(key) + "\" is longer than 4096 bytes");
  }
  if (text.find('\0') != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, "\"" + std::string(key) + "\" contains NUL");
  }
  return text;
}

}  // namespace

std::string_view webApiFieldName(LeadField field) {
  return kWebApiNames[static_cast<std::size_t>(field)];
}

boost::json::object leadToJson(const Lead& lead) {
  boost::json::object out;
  out["id"] = lead.id;
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    out[leadFieldName(static_cast<LeadField>(i))] = lead.fields[i];
  }
  for (const auto& [id, value] : lead.custom) out["field:" + std::to_string(id)] = value;
  return out;
}

Result<Lead> leadFromJson(const boost::json::value& value) {
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "a lead must be an object");
  Lead lead;
  for (const auto& [key, item] : value.get_object()) {
    std::string_view name(key.data(), key.size());
    if (name == "id") continue;
    auto text = textValue(item, name);
    if (!text) return text.error();
    if (auto field = leadFieldFromName(name)) {
      lead.field(*field) = std::move(*text);
    } else if (int id = customFieldId(name); id >= 0) {
      lead.custom[id] = std::move(*text);
    } else {
      return fail(ErrorCode::kInvalidArgument,
                  "\"" + std::string(name) +
                      "\" is not a lead field (referenceid, name, name2, address, city, "
                      "postalcode, phonenum, campaignid, listid, field:ID)");
    }
  }
  return lead;
}

boost::json::object leadToWebApiJson(const Lead& lead) {
  boost::json::object out;
  out["LeadId"] = lead.id;
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) out[kWebApiNames[i]] = lead.fields[i];
  boost::json::array fields;
  for (const auto& [id, value] : lead.custom) {
    fields.push_back(boost::json::object{{"FieldId", id}, {"Value", value}});
  }
  out["Fields"] = std::move(fields);
  return out;
}

Result<Lead> leadFromWebApiJson(const boost::json::value& value) {
  if (!value.is_object()) return fail(ErrorCode::kInvalidArgument, "a lead must be an object");
  Lead lead;
  for (const auto& [key, item] : value.get_object()) {
    std::string_view name(key.data(), key.size());
    if (name == "LeadId") continue;
    if (name == "Fields") {
      if (!item.is_array()) return fail(ErrorCode::kInvalidArgument, "\"Fields\" must be a list");
      for (const auto& entry : item.get_array()) {
        const boost::json::object* field = entry.if_object();
        const boost::json::value* id = field ? field->if_contains("FieldId") : nullptr;
        const boost::json::value* text = field ? field->if_contains("Value") : nullptr;
        if (!id || !text || !id->is_int64() || id->get_int64() < 0 ||
            id->get_int64() > 1'000'000'000 || field->size() != 2) {
          return fail(ErrorCode::kInvalidArgument,
                      "each of \"Fields\" must be {\"FieldId\": number, \"Value\": text}");
        }
        auto checked = textValue(*text, "Value");
        if (!checked) return checked.error();
        lead.custom[static_cast<int>(id->get_int64())] = std::move(*checked);
      }
      continue;
    }
    std::size_t i = 0;
    while (i < kLeadFieldCount && kWebApiNames[i] != name) ++i;
    if (i == kLeadFieldCount) {
      return fail(ErrorCode::kInvalidArgument,
                  "\"" + std::string(name) +
                      "\" is not a lead field (ReferenceId, Name, Name2, Address, City, "
                      "PostalCode, PhoneNum, CampaignId, ListId, Fields)");
    }
    auto text = textValue(item, name);
    if (!text) return text.error();
    lead.fields[i] = std::move(*text);
  }
  return lead;
}

}  // namespace callflow
