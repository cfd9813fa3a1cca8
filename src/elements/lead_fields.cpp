#include "elements/lead_fields.h"

namespace callflow {

CallVariable callVariableOf(LeadField field) {
  switch (field) {
    case LeadField::kReferenceId:
      return CallVariable::kReferenceId;
    case LeadField::kName:
      return CallVariable::kName;
    case LeadField::kName2:
      return CallVariable::kName2;
    case LeadField::kAddress:
      return CallVariable::kAddress;
    case LeadField::kCity:
      return CallVariable::kCity;
    case LeadField::kPostalCode:
      return CallVariable::kPostalCode;
    case LeadField::kPhoneNum:
      return CallVariable::kPhoneNum;
    case LeadField::kCampaignId:
      return CallVariable::kCampaignId;
    case LeadField::kListId:
      return CallVariable::kListId;
  }
  return CallVariable::kName;
}

void copyLeadToCall(const Lead& lead, Call& call) {
  call.setVariable(CallVariable::kLeadId, std::to_string(lead.id));
  for (std::size_t i = 0; i < kLeadFieldCount; ++i) {
    auto field = static_cast<LeadField>(i);
    if (field == LeadField::kPhoneNum) continue;
    call.setVariable(callVariableOf(field), lead.field(field));
  }
}

}  // namespace callflow
