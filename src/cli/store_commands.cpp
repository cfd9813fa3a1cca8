// The commands on the database: `leads import|find`, `users add`, `calls list`.
#include <boost/json.hpp>
#include <fstream>
#include <iostream>

#include "cli/commands.h"
#include "store/database.h"
#include "store/lead_import.h"
#include "store/lead_json.h"
#include "store/phone.h"
#include "store/record_json.h"

namespace callflow {

std::unique_ptr<Database> openDatabaseOrReport(const std::string& path, const std::string& country,
                                               bool read_only) {
  DatabaseOptions options;
  options.default_country = country;
  options.read_only = read_only;
  auto opened = Database::open(path, options);
  if (!opened) {
    std::cerr << "callflow: " << opened.error().message << '\n';
    return nullptr;
  }
  return std::move(*opened);
}

int runLeadsImport(const LeadsImportOptions& options) {
  std::ifstream in(options.csv_path, std::ios::binary);
  if (!in) {
    std::cerr << "callflow: cannot read \"" << options.csv_path << "\"\n";
    return 2;
  }
  auto database = openDatabaseOrReport(options.db_path, options.country);
  if (!database) return 1;
  ImportReport partial;
  auto report = importLeadsCsv(*database, in, 500, &partial);
  if (!report) {
    std::cerr << "callflow: " << options.csv_path << ": " << report.error().message << '\n';
    if (partial.imported > 0) {
      std::cerr << "callflow: " << partial.imported
                << " leads were imported before that (a second import would add them again)\n";
    }
    return report.error().code == ErrorCode::kInvalidArgument ? 2 : 1;
  }
  if (options.json) {
    boost::json::array rejected;
    for (const auto& [line, reason] : report->rejected) {
      rejected.push_back(boost::json::object{{"line", line}, {"reason", reason}});
    }
    std::cout << boost::json::serialize(boost::json::object{{"imported", report->imported},
                                                            {"rejected", std::move(rejected)}})
              << '\n';
  } else {
    for (const auto& [line, reason] : report->rejected) {
      std::cerr << options.csv_path << ": line " << line << ": " << reason << '\n';
    }
    std::cout << report->imported << " leads imported, " << report->rejected.size()
              << " rows rejected\n";
  }
  return 0;
}

int runLeadsFind(const LeadsFindOptions& options) {
  if (options.phone.empty() == options.reference.empty()) {
    std::cerr << "callflow: leads find: give one of --phone NUMBER or --reference TEXT\n";
    return 2;
  }
  auto database = openDatabaseOrReport(options.db_path, options.country, true);
  if (!database) return 1;
  Result<std::vector<Lead>> leads = std::vector<Lead>();
  if (!options.phone.empty()) {
    leads = database->leadsByPhone(options.phone, 100);
  } else if (auto one = database->leadByReference(options.reference); !one) {
    leads = one.error();
  } else if (*one) {
    leads = std::vector<Lead>{std::move(**one)};
  }
  if (!leads) {
    std::cerr << "callflow: " << leads.error().message << '\n';
    return 1;
  }
  if (options.json) {
    boost::json::array out;
    for (const Lead& lead : *leads) out.push_back(leadToJson(lead));
    std::cout << boost::json::serialize(out) << '\n';
  } else {
    if (leads->empty()) std::cout << "no lead found\n";
    for (const Lead& lead : *leads) {
      std::cout << "lead " << lead.id << ':';
      for (const auto& [key, value] : leadToJson(lead)) {
        if (key == "id" || (value.is_string() && value.get_string().empty())) continue;
        std::cout << ' ' << std::string_view(key) << '=' << boost::json::serialize(value);
      }
      std::cout << '\n';
    }
  }
  return 0;
}

int runUsersAdd(const UsersAddOptions& options) {
  std::string password = options.password;
  if (password.empty()) {
    if (const char* from_env = std::getenv("CALLFLOW_PASSWORD")) password = from_env;
  }
  if (password.empty()) {
    std::cerr << "callflow: users add: give --password P (or CALLFLOW_PASSWORD)\n";
    return 2;
  }
  auto database = openDatabaseOrReport(options.db_path, std::string(kDefaultCountry));
  if (!database) return 1;
  auto added = database->addUser(options.name, password, options.role);
  if (!added) {
    std::cerr << "callflow: users add: " << added.error().message << '\n';
    return added.error().code == ErrorCode::kUnavailable ? 1 : 2;
  }
  std::cout << "user " << options.name << " (" << options.role << ") added\n";
  return 0;
}

int runCallsList(const CallsListOptions& options) {
  auto database = openDatabaseOrReport(options.db_path, std::string(kDefaultCountry), true);
  if (!database) return 1;
  auto records = database->listCalls(options.limit, false);
  if (!records) {
    std::cerr << "callflow: " << records.error().message << '\n';
    return 1;
  }
  if (options.json) {
    boost::json::array out;
    for (const CallRecord& record : *records) out.push_back(callRecordToJson(record));
    std::cout << boost::json::serialize(out) << '\n';
    return 0;
  }
  if (records->empty()) std::cout << "no calls recorded\n";
  for (const CallRecord& record : *records) {
    std::cout << record.uuid << "  " << record.from << " -> " << record.to << "  " << record.flow
              << "  " << record.status << "  " << record.result_code << '\n';
  }
  return 0;
}

}  // namespace callflow
