// GET /healthz and GET /metrics: for load balancers and Prometheus, no authentication (bind the
// admin port to a private address).
#include <boost/json.hpp>

#include "server/context.h"

namespace callflow {

void addOpsEndpoints(Router& router, ServerContext& context) {
  router.add("GET", "/healthz",
             [&context](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               // The file answers a read, and the writer keeps up with its queue.
               constexpr std::size_t kMaxQueue = 10000;
               auto read = context.reader.ping();
               std::size_t queued = context.writer.queued();
               bool ok = read && queued < kMaxQueue;
               boost::json::object out{{"status", ok ? "ok" : "degraded"},
                                       {"database", !read                 ? read.error().message
                                                    : queued >= kMaxQueue ? "the writer is behind"
                                                                          : "ok"},
                                       {"flows", context.flows.size()},
                                       {"dbQueue", queued}};
               co_return Response::json(ok ? 200 : 503, out);
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
