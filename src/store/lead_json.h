// Leads as JSON, in the two shapes users meet:
// - Callflow's own (CLI, admin API, `callflow run --leads`): flat, named like the CSV header and
//   the call variables, custom fields as "field:158":
//     {"id": 1001, "referenceid": "R1", "name": "Ada", "phonenum": "+441632960001",
//      "field:158": "Gold"}
// - the Lead Web API's (the seed product's shape):
//     {"LeadId": 1001, "ReferenceId": "R1", "Name": "Ada", …, "Fields": [{"FieldId": 158,
//      "Value": "Gold"}]}
#pragma once

#include <boost/json/fwd.hpp>
#include <string>

#include "callflow/lead_store.h"
#include "callflow/result.h"

namespace callflow {

boost::json::object leadToJson(const Lead& lead);
// Every key must be a lead field or "field:ID" with a text value (an "id" key is ignored);
// errors name the key. Values over 4096 bytes or with NUL are refused.
Result<Lead> leadFromJson(const boost::json::value& value);

boost::json::object leadToWebApiJson(const Lead& lead);
Result<Lead> leadFromWebApiJson(const boost::json::value& value);
// The Web API's name of a standard field ("ReferenceId", "PhoneNum", …).
std::string_view webApiFieldName(LeadField field);

}  // namespace callflow
