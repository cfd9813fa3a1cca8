// Flows and their versions (store/database.h). Saving adds a version; nothing is overwritten, so
// any older version can be opened and restored. A draft is a version too, but never the live one.
#include <SQLiteCpp/SQLiteCpp.h>

#include "store/database.h"
#include "store/sqlite_guard.h"

namespace callflow {

namespace {

// The columns every flow query selects, in this order (readVersion reads them), then the body
// when it is wanted: `v` is the version's row; the last column is the flow's live version.
#define CALLFLOW_FLOW_COLUMNS                                                               \
  "flows.name, v.version, v.saved_by, v.saved_ms, v.draft, (SELECT coalesce(max(version), " \
  "0) FROM flow_versions WHERE flow_id = flows.id AND draft = 0)"
#define CALLFLOW_FLOW_FROM " FROM flows JOIN flow_versions v ON v.flow_id = flows.id "

FlowVersion readVersion(SQLite::Statement& row, bool with_body) {
  FlowVersion version;
  version.name = row.getColumn(0).getString();
  version.version = row.getColumn(1).getInt();
  version.saved_by = row.getColumn(2).getString();
  version.saved_ms = row.getColumn(3).getInt64();
  version.draft = row.getColumn(4).getInt() != 0;
  version.live_version = row.getColumn(5).getInt();
  if (with_body) version.body = row.getColumn(6).getString();
  return version;
}

}  // namespace

Result<int> Database::saveFlow(std::string_view name, std::string_view body,
                               std::string_view saved_by, bool draft) {
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "a flow needs a name");
  return transaction([&]() -> Result<int> {
    return sqliteGuard("saving a flow", [&] {
      auto create = statement(
          "INSERT INTO flows (name, created_ms) VALUES (?, ?) ON CONFLICT (name) DO NOTHING");
      create->bind(1, std::string(name));
      create->bind(2, nowMs());
      create->exec();
      auto next = statement(
          "SELECT flows.id, coalesce(max(flow_versions.version), 0) + 1 FROM flows LEFT JOIN "
          "flow_versions ON flow_versions.flow_id = flows.id WHERE flows.name = ?");
      next->bind(1, std::string(name));
      next->executeStep();
      std::int64_t flow_id = next->getColumn(0).getInt64();
      int version = next->getColumn(1).getInt();
      auto insert = statement(
          "INSERT INTO flow_versions (flow_id, version, body, saved_by, saved_ms, draft) "
          "VALUES (?, ?, ?, ?, ?, ?)");
      insert->bind(1, flow_id);
      insert->bind(2, version);
      insert->bind(3, std::string(body));
      insert->bind(4, std::string(saved_by));
      insert->bind(5, nowMs());
      insert->bind(6, draft ? 1 : 0);
      insert->exec();
      return version;
    });
  });
}

Result<std::optional<FlowVersion>> Database::flow(std::string_view name, int version) {
  return sqliteGuard("reading a flow", [&] {
    auto query = statement("SELECT " CALLFLOW_FLOW_COLUMNS ", v.body" CALLFLOW_FLOW_FROM
                           "WHERE flows.name = ? AND (? = 0 OR v.version = ?) "
                           "ORDER BY v.version DESC LIMIT 1");
    query->bind(1, std::string(name));
    query->bind(2, version);
    query->bind(3, version);
    if (!query->executeStep()) return std::optional<FlowVersion>();
    return std::optional<FlowVersion>(readVersion(*query, true));
  });
}

Result<std::optional<FlowVersion>> Database::liveFlow(std::string_view name) {
  return sqliteGuard("reading a flow", [&] {
    auto query = statement("SELECT " CALLFLOW_FLOW_COLUMNS ", v.body" CALLFLOW_FLOW_FROM
                           "WHERE flows.name = ? AND v.draft = 0 ORDER BY v.version DESC LIMIT 1");
    query->bind(1, std::string(name));
    if (!query->executeStep()) return std::optional<FlowVersion>();
    return std::optional<FlowVersion>(readVersion(*query, true));
  });
}

Result<std::vector<FlowVersion>> Database::listFlows() {
  return sqliteGuard("listing flows", [&] {
    auto query = statement("SELECT " CALLFLOW_FLOW_COLUMNS ", v.body" CALLFLOW_FLOW_FROM
                           "WHERE v.version = (SELECT max(version) FROM flow_versions WHERE "
                           "flow_id = flows.id) ORDER BY flows.name");
    std::vector<FlowVersion> flows;
    while (query->executeStep()) flows.push_back(readVersion(*query, true));
    return flows;
  });
}

Result<std::vector<FlowVersion>> Database::listLiveFlows() {
  return sqliteGuard("listing flows", [&] {
    auto query = statement("SELECT " CALLFLOW_FLOW_COLUMNS ", v.body" CALLFLOW_FLOW_FROM
                           "WHERE v.version = (SELECT max(version) FROM flow_versions WHERE "
                           "flow_id = flows.id AND draft = 0) ORDER BY flows.name");
    std::vector<FlowVersion> flows;
    while (query->executeStep()) flows.push_back(readVersion(*query, true));
    return flows;
  });
}

Result<std::vector<FlowVersion>> Database::flowVersions(std::string_view name) {
  return sqliteGuard("listing flow versions", [&] {
    auto query = statement("SELECT " CALLFLOW_FLOW_COLUMNS CALLFLOW_FLOW_FROM
                           "WHERE flows.name = ? ORDER BY v.version DESC");
    query->bind(1, std::string(name));
    std::vector<FlowVersion> versions;
    while (query->executeStep()) versions.push_back(readVersion(*query, false));
    return versions;
  });
}

#undef CALLFLOW_FLOW_COLUMNS
#undef CALLFLOW_FLOW_FROM

Result<bool> Database::renameFlow(std::string_view from, std::string_view to) {
  if (to.empty()) return fail(ErrorCode::kInvalidArgument, "a flow needs a name");
  return sqliteGuard("renaming a flow", [&]() -> Result<bool> {
    auto taken = statement("SELECT 1 FROM flows WHERE name = ?");
    taken->bind(1, std::string(to));
    if (taken->executeStep()) {
      return fail(ErrorCode::kFailedPrecondition,
                  "a flow named \"" + std::string(to) + "\" exists already");
    }
    auto rename = statement("UPDATE flows SET name = ? WHERE name = ?");
    rename->bind(1, std::string(to));
    rename->bind(2, std::string(from));
    return rename->exec() > 0;
  });
}

Result<bool> Database::deleteFlow(std::string_view name) {
  return sqliteGuard("deleting a flow", [&] {
    auto remove = statement("DELETE FROM flows WHERE name = ?");
    remove->bind(1, std::string(name));
    return remove->exec() > 0;
  });
}

}  // namespace callflow
