// ServerContext: what the handlers of `callflow serve` share, all owned by ServerApp and used
// from the HTTP loop's one thread.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <variant>

#include "callflow/call.h"
#include "callflow/call_record.h"
#include "engine/script_channel.h"
#include "flow/flow.h"
#include "server/auth.h"
#include "server/metrics.h"
#include "server/router.h"
#include "store/database.h"
#include "store/db_worker.h"

namespace callflow {

class HttpClient;
namespace media {
class PromptCache;
}

// A deployed flow: its latest version, loaded and checked.
struct DeployedFlow {
  std::shared_ptr<const Flow> flow;
  int version = 0;
};

// Counters the server keeps of calls it runs and of their ApiRequest exchanges.
struct CallMetrics {
  Metrics* registry = nullptr;
  Histogram api_seconds;
  // Counts one ended call: its result, every element visit, every HTTP exchange.
  void record(const Flow& flow, const Call& call) const;
};

struct ServerContext {
  DbWorker& writer;  // every write, in order
  Database& reader;  // read-only connection of the HTTP loop's thread
  Authenticator& auth;
  Metrics& metrics;
  CallMetrics calls;
  SecretMap& secrets;  // from --secrets, and CALLFLOW_SECRET_* for each flow deployed
  HttpClient& http;
  std::map<std::string, DeployedFlow, std::less<>> flows;
  // Flows SIP calls reach by name (serve --flow, --route): renaming one would leave its number
  // unanswered, so the admin API refuses to.
  std::set<std::string, std::less<>> routed_flows;
  Counter record_write_failures;
  // The --prompts folder's cache (owned by MediaApi), shared by SIP calls and the prompts API,
  // which forgets a prompt it replaces or deletes; null without --prompts.
  media::PromptCache* prompts = nullptr;
  // SIGTERM: /healthz answers 503 "draining" from then on (loop thread).
  bool draining = false;
  // More /metrics series (Prometheus text) from parts the registry does not hold: the SIP
  // side's live calls, limits and rejections. Called on the loop; null: none.
  std::function<std::string()> extra_metrics;
  // Where a Transfer may send a call (--transfer-allow): SIP calls, test calls and the
  // designer's test calls alike; no pattern, no transfer. Fixed targets are checked on save.
  TransferPolicy transfers;

  // Queues a call record for the writer (begin: the record of a call that starts, status open;
  // else its final record). A failed write is logged and counted, never silent.
  void storeRecord(CallRecord record, bool begin);

  // The user behind a Bearer token (admin API) or Basic credentials (Lead Web API), or the
  // 401/403/429/503 response to send instead. roles: those allowed, e.g. {"admin"}. (basic
  // takes one role: GCC 12 miscompiles a braced list inside a co_await expression.)
  using Who = std::variant<User, Response>;
  Who bearer(const Request& request, std::initializer_list<std::string_view> roles);
  boost::asio::awaitable<Who> basic(const Request& request, std::string_view role);
};

// The 401 (with WWW-Authenticate: scheme), 429, 503 response for an authentication outcome.
std::variant<User, Response> authDenial(AuthOutcome outcome, std::string_view scheme);

void addLeadWebApi(Router& router, ServerContext& context);
void addAdminApi(Router& router, ServerContext& context);
void addOpsEndpoints(Router& router, ServerContext& context);
// The record spool's series for /metrics (Prometheus text).
std::string recordSpoolMetrics(const RecordSpoolStats& spool);
// The web designer's tests of unsaved flows: POST /api/v1/test-request and /test-call.
void addDesignerApi(Router& router, ServerContext& context);

// Helpers for handlers.
Result<boost::json::value> parseBody(const Request& request);  // strict JSON, 400 text on error
Response badRequest(std::string_view message);
Response storeFailure(const Error& error);  // 503 (busy, full, I/O) or 500
Result<std::int64_t> parseId(std::string_view text, std::string_view what);

// The scripted caller of a test call, from a body's optional keys "from", "to", "digits"
// (["12#", ""]), "hangupAt" (an element of `flow`) and "failTransfers"; any other key is an error
// (400 text) but `own_key`, which the endpoint reads itself. Shared by POST
// /api/v1/flows/{name}/calls and /api/v1/test-call (defined in designer_api.cpp).
struct TestCallOptions {
  CallerScript script;
  std::string from;
  std::string to;
};
Result<TestCallOptions> parseTestCallOptions(const boost::json::object& body, const Flow& flow,
                                             std::string_view own_key = {});

}  // namespace callflow
