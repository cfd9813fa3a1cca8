#include "elements/lead_fields.h"

namespace callflow {

CallVariable callVariableOf(LeadField field) {
  // Every standard lead field has the call variable of the same name (call.name, call.city…).
  return *callVariableFromName(leadFieldName(field));
}

std::optional<LeadField> leadFieldOf(CallVariable variable) {
  return leadFieldFromName(callVariableName(variable));
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
