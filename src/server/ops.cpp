// GET /healthz and GET /metrics: for load balancers and Prometheus, no authentication (bind the
// admin port to a private address).
#include <boost/json.hpp>
#include <cstdio>

#include "server/context.h"

namespace callflow {

std::string recordSpoolMetrics(const RecordSpoolStats& spool) {
  std::string out;
  auto series = [&out](const char* name, const char* type, const char* help, double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", value);
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n" +
           name + " " + text + "\n";
  };
  series("callflow_call_records_spooled", "gauge",
         "Call records waiting in memory for the database.", double(spool.spooled_now));
  series("callflow_call_records_spooled_bytes", "gauge", "Their size, roughly.",
         double(spool.spooled_bytes));
  series("callflow_call_records_spool_capacity", "gauge", "Records the spool may hold.",
         double(spool.max_records));
  series("callflow_call_records_spooled_total", "counter",
         "Call records the database refused for a time, kept in the spool.",
         double(spool.spooled_total));
  series("callflow_call_records_spool_written_total", "counter",
         "Spooled call records written to the database since.", double(spool.written_total));
  series("callflow_call_records_dropped_total", "counter",
         "Call records lost: the spool was full, or the database refused them for good.",
         double(spool.dropped_total));
  series("callflow_db_record_write_errors_total", "counter",
         "Call record writes (and retries) the database refused.",
         double(spool.write_errors_total));
  return out;
}

void addOpsEndpoints(Router& router, ServerContext& context) {
  router.add("GET", "/healthz",
             [&context](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               // The file answers a read, and the writer keeps up with its queue.
               constexpr std::size_t kMaxQueue = 10000;
               auto read = context.reader.ping();
               std::size_t queued = context.writer.queued();
               RecordSpoolStats spool = context.writer.recordSpool();
               bool ok = read && queued < kMaxQueue && !context.draining;
               boost::json::object out{
                   {"status", context.draining ? "draining"
                              : ok             ? "ok"
                                               : "degraded"},
                   {"database", !read                 ? read.error().message
                                : queued >= kMaxQueue ? "the writer is behind"
                                                      : "ok"},
                   {"flows", context.flows.size()},
                   {"dbQueue", queued},
                   {"records", {{"spooled", spool.spooled_now}, {"dropped", spool.dropped_total}}}};
               // Records waiting for the database: still serving (200), but say so.
               if (ok && spool.spooled_now > 0) out["status"] = "degraded";
               co_return Response::json(ok ? 200 : 503, out);
             });
  router.add("GET", "/metrics",
             [&context](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
               Response response;
               response.content_type = "text/plain; version=0.0.4; charset=utf-8";
               response.body = context.metrics.render();
               if (context.extra_metrics) response.body += context.extra_metrics();
               co_return response;
             });
}

}  // namespace callflow
