// Deployed flows and their versions (store/database.h). Saving adds a version; nothing is
// overwritten, so any older version can be opened and restored.
#include <SQLiteCpp/SQLiteCpp.h>

#include "store/database.h"
#include "store/sqlite_guard.h"

namespace callflow {

Result<int> Database::saveFlow(std::string_view name, std::string_view body,
                               std::string_view saved_by) {
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
          "INSERT INTO flow_versions (flow_id, version, body, saved_by, saved_ms) "
          "VALUES (?, ?, ?, ?, ?)");
      insert->bind(1, flow_id);
      insert->bind(2, version);
      insert->bind(3, std::string(body));
      insert->bind(4, std::string(saved_by));
      insert->bind(5, nowMs());
      insert->exec();
      return version;
    });
  });
}

Result<std::optional<FlowVersion>> Database::flow(std::string_view name, int version) {
  return sqliteGuard("reading a flow", [&] {
    auto query = statement(
        "SELECT flows.name, flow_versions.version, body, saved_by, saved_ms FROM flows JOIN "
        "flow_versions ON flow_versions.flow_id = flows.id WHERE flows.name = ? AND "
        "(? = 0 OR flow_versions.version = ?) ORDER BY flow_versions.version DESC LIMIT 1");
    query->bind(1, std::string(name));
    query->bind(2, version);
    query->bind(3, version);
    if (!query->executeStep()) return std::optional<FlowVersion>();
    return std::optional<FlowVersion>(
        FlowVersion{query->getColumn(0).getString(), query->getColumn(1).getInt(),
                    query->getColumn(2).getString(), query->getColumn(3).getString(),
                    query->getColumn(4).getInt64()});
  });
}

Result<std::vector<FlowVersion>> Database::listFlows() {
  return sqliteGuard("listing flows", [&] {
    auto query = statement(
        "SELECT flows.name, v.version, v.body, v.saved_by, v.saved_ms FROM flows JOIN "
        "flow_versions v ON v.flow_id = flows.id WHERE v.version = (SELECT max(version) FROM "
        "flow_versions WHERE flow_id = flows.id) ORDER BY flows.name");
    std::vector<FlowVersion> flows;
    while (query->executeStep()) {
      flows.push_back(FlowVersion{query->getColumn(0).getString(), query->getColumn(1).getInt(),
                                  query->getColumn(2).getString(), query->getColumn(3).getString(),
                                  query->getColumn(4).getInt64()});
    }
    return flows;
  });
}

Result<std::vector<FlowVersion>> Database::flowVersions(std::string_view name) {
  return sqliteGuard("listing flow versions", [&] {
    auto query = statement(
        "SELECT flows.name, v.version, v.saved_by, v.saved_ms FROM flows JOIN flow_versions v "
        "ON v.flow_id = flows.id WHERE flows.name = ? ORDER BY v.version DESC");
    query->bind(1, std::string(name));
    std::vector<FlowVersion> versions;
    while (query->executeStep()) {
      versions.push_back(FlowVersion{query->getColumn(0).getString(),
                                     query->getColumn(1).getInt(),
                                     {},
                                     query->getColumn(2).getString(),
                                     query->getColumn(3).getInt64()});
    }
    return versions;
  });
}

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
