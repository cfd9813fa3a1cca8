// Between leads and the call variables they fill.
#pragma once

#include "callflow/call.h"
#include "callflow/lead_store.h"

namespace callflow {

// Sets call.leadid and every standard field but call.phonenum (the caller's own number stays).
void copyLeadToCall(const Lead& lead, Call& call);
CallVariable callVariableOf(LeadField field);
// The lead field behind a call variable; none for call.leadid and call.dnis.
std::optional<LeadField> leadFieldOf(CallVariable variable);

}  // namespace callflow
