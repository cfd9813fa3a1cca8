// Bulk import of leads from CSV (`callflow leads import`). The header row names the columns:
// the standard fields (referenceid, name, name2, address, city, postalcode, phonenum,
// campaignid, listid) and custom fields as `field:158`. Rows are committed in batches, so an
// import cut short (even by kill -9) leaves every committed row and a database that opens.
#pragma once

#include <istream>
#include <string>
#include <utility>
#include <vector>

#include "store/database.h"

namespace callflow {

struct ImportReport {
  int imported = 0;
  std::vector<std::pair<int, std::string>> rejected;  // line, reason
};

// Fails (nothing imported) when the header row is unusable; otherwise reports each row. When the
// database or the file fails midway, the batches committed before stay, and `progress` (if
// given) says how many leads they held.
Result<ImportReport> importLeadsCsv(Database& database, std::istream& in, int batch_size = 500,
                                    ImportReport* progress = nullptr);

// Parses "field:158" into 158; -1 when name is not a custom field name.
int customFieldId(std::string_view name);

}  // namespace callflow
