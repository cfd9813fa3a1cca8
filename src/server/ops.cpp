// GET /healthz and GET /metrics: for load balancers and Prometheus, no authentication (bind the
// admin port to a private address).
#include <boost/json.hpp>

#include "server/context.h"

namespace callflow {

void addOpsEndpoints(Router& router, ServerContext& context) {
  router.add("GET", "/healthz",
             [&context](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               // The database answers a read: the store is usable.
               auto count = context.reader.countLeads();
               boost::json::object out{{"status", count ? "ok" : "degraded"},
                                       {"database", count ? "ok" : count.error().message},
                                       {"flows", context.flows.size()},
                                       {"dbQueue", context.writer.queued()}};
               co_return Response::json(count ? 200 : 503, out);
             });
  router.add("GET", "/metrics",
             [&context](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               Response response;
               response.content_type = "text/plain; version=0.0.4; charset=utf-8";
               response.body = context.metrics.render();
               co_return response;
             });
}

}  // namespace callflow
