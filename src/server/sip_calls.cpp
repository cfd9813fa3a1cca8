#include "server/sip_calls.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <cstdio>
#include <iostream>
#include <optional>
#include <unordered_map>

#include "callflow/utf8.h"
#include "engine/call_record.h"
#include "engine/runner.h"
#include "media/prompts.h"
#include "media/rtp_stream.h"
#include "media/speech_cache.h"
#include "media/tts.h"
#include "server/context.h"
#include "sip/sip_channel.h"
#include "sip/sip_stack.h"
#include "store/sqlite_lead_store.h"

namespace callflow {

namespace asio = boost::asio;

// One live call: everything it needs from its INVITE to its record.
struct LiveCall {
  LiveCall(DeployedFlow deployed, DbWorker& writer, std::string from, std::string to)
      : flow(std::move(deployed.flow)),
        version(deployed.version),
        call(makeCall(*flow, std::move(from), std::move(to))),
        leads(writer, "flow " + flow->name) {}

  std::shared_ptr<const Flow> flow;
  int version;
  Call call;
  SqliteLeadStore leads;
  std::unique_ptr<sip::SipChannel> line;
  CallRecord opening;
  CallClock clock = CallClock::now();
  std::string end_status = "completed";  // "shutdown": ended by the server stopping
};

struct SipCalls::Impl : sip::CallEvents {
  Impl(asio::io_context& loop, ServerContext& context, SipConfig config)
      : loop(loop),
        context(context),
        config(std::move(config)),
        pacer(loop),
        speech(tts, this->config.tts_cache_bytes) {}

  asio::io_context& loop;
  ServerContext& context;
  SipConfig config;
  media::Pacer pacer;
  media::PortRange ports;
  media::FliteTts tts;
  media::SpeechCache speech;
  asio::thread_pool tts_pool{1};
  std::unique_ptr<sip::SipStack> stack;
  std::unordered_map<std::uint64_t, std::unique_ptr<LiveCall>> live;
  bool stopping = false;
  asio::steady_timer media_sweep{loop};
  Counter media_timeouts;

  // Once a second: answered calls whose caller has sent no RTP for the media timeout end.
  void sweepMedia() {
    if (config.media_timeout_s <= 0 || stopping) return;
    media_sweep.expires_after(std::chrono::seconds(1));
    media_sweep.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      auto quiet = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
          std::chrono::duration<double>(config.media_timeout_s));
      for (auto& [id, call] : live) {
        if (call->line->silentFor(quiet)) {
          std::cerr << "callflow serve: flow \"" << call->flow->name << "\", call "
                    << call->opening.uuid << ": no audio from the caller for "
                    << config.media_timeout_s << " s; hanging up\n";
          call->end_status = "media-timeout";
          media_timeouts.inc();
          call->line->endByServer();
        }
      }
      sweepMedia();
    });
  }

  const DeployedFlow* route(const std::string& dialled) const {
    auto routed = config.routes.find(dialled);
    const std::string& name = routed != config.routes.end() ? routed->second : config.default_flow;
    if (name.empty()) return nullptr;
    auto found = context.flows.find(name);
    return found == context.flows.end() ? nullptr : &found->second;
  }

  void incoming(sip::IncomingCall incoming) override {
    const DeployedFlow* deployed = route(incoming.to);
    if (deployed == nullptr || stopping) {
      stack->reject(incoming.id, stopping ? 503 : 404);
      return;
    }
    auto call = std::make_unique<LiveCall>(*deployed, context.writer, incoming.from, incoming.to);
    auto stream = media::RtpStream::open(pacer, incoming.local_ip, ports);
    if (!stream) {
      std::cerr << "callflow serve: call " << incoming.call_id << ": " << stream.error().message
                << '\n';
      stack->reject(incoming.id, 503);
      return;
    }
    sip::MediaServices services{context.prompts, &speech, tts_pool.get_executor()};
    call->line = std::make_unique<sip::SipChannel>(
        *stack, incoming, services, *stream, loop.get_executor(),
        "flow \"" + call->flow->name + "\", call " + incoming.call_id);
    (*stream)->setListener(call->line.get());
    (*stream)->setInbandDtmf(config.inband_dtmf);
    call->call.setSecrets(&context.secrets);
    call->call.services().leads = &call->leads;
    call->call.services().http = &context.http;
    call->call.services().transfers = &context.transfers;
    CallRecord& opening = call->opening;
    opening.uuid = newCallUuid();
    opening.started_ms = call->clock.started_ms;
    opening.status = "open";
    opening.from = toValidUtf8(incoming.from);
    opening.to = toValidUtf8(incoming.to);
    opening.flow = call->flow->name;
    opening.flow_version = call->version;
    LiveCall& ref = *call;
    live.emplace(incoming.id, std::move(call));
    asio::co_spawn(loop, run(incoming.id, ref), asio::detached);
  }

  asio::awaitable<void> run(std::uint64_t id, LiveCall& call) {
    // The open record is committed (or spooled) before the flow can answer: a call that got 200
    // has a record even if the server dies next (RELIABILITY.md D2). A hung database holds it 1 s.
    DbWorker::Job open = [record = call.opening,
                          failures = context.record_write_failures](Database& db) {
      if (!db.beginCall(record)) failures.inc();
    };
    co_await context.writer.runBatchable(open, std::chrono::seconds(1));
    try {
      co_await runCall(*call.flow, call.call, *call.line);
    } catch (const std::exception& e) {
      call.call.trace().error = std::string("internal error: ") + e.what();
    }
    call.line->finish();
    context.calls.record(*call.flow, call.call);
    CallRecord record =
        completedCallRecord(*call.flow, call.call, call.opening.uuid, call.clock.started_ms,
                            call.clock.endedMs(), call.version);
    record.status = call.end_status;
    context.storeRecord(std::move(record), false);
    live.erase(id);
  }

  sip::SipChannel* find(std::uint64_t id) {
    auto it = live.find(id);
    return it == live.end() ? nullptr : it->second->line.get();
  }
  void ended(std::uint64_t id, sip::EndReason) override {
    if (auto* line = find(id)) line->callerHungUp();
  }
  void mediaChanged(std::uint64_t id, sip::MediaDescription media) override {
    if (auto* line = find(id)) line->mediaChanged(media);
  }
  void referDone(std::uint64_t id, bool accepted, int status) override {
    if (auto* line = find(id)) line->referDone(accepted, status);
  }
};

SipCalls::SipCalls(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SipCalls::~SipCalls() {
  stop();
  impl_->tts_pool.join();
}

Result<std::unique_ptr<SipCalls>> SipCalls::start(asio::io_context& loop, ServerContext& context,
                                                  SipConfig config) {
  auto ports = media::parsePortRange(config.rtp_ports);
  if (!ports) return ports.error();
  for (const auto& [number, flow] : config.routes) {
    if (context.flows.find(flow) == context.flows.end()) {
      return fail(ErrorCode::kNotFound, "--route " + number + ": no live flow \"" + flow + "\"");
    }
  }
  for (const auto& [number, flow] : config.routes) context.routed_flows.insert(flow);
  if (!config.default_flow.empty()) context.routed_flows.insert(config.default_flow);
  auto impl = std::make_unique<Impl>(loop, context, std::move(config));
  impl->ports = *ports;
  sip::SipOptions options;
  options.listen = impl->config.listen;
  options.limits = impl->config.limits;
  auto stack = sip::SipStack::start(options, loop.get_executor(), *impl);
  if (!stack) return stack.error();
  impl->stack = std::move(*stack);
  impl->media_timeouts = context.metrics.counter(
      "callflow_sip_media_timeouts_total",
      "Answered calls ended because the caller sent no RTP for the media timeout.");
  impl->sweepMedia();
  return std::unique_ptr<SipCalls>(new SipCalls(std::move(impl)));
}

std::uint16_t SipCalls::port() const { return impl_->stack ? impl_->stack->port() : 0; }
int SipCalls::liveCalls() const { return static_cast<int>(impl_->live.size()); }

void SipCalls::drain() {
  if (impl_->stack) impl_->stack->drain();
}

std::string SipCalls::metricsText() const {
  if (!impl_->stack) return {};
  const sip::AdmissionCounters& c = impl_->stack->admissionCounters();
  const sip::AdmissionLimits& limits = impl_->stack->limits();
  std::string out;
  auto series = [&out](const char* name, const char* type, const char* help) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  };
  auto value = [&out](const std::string& line, double v) {
    char text[32];
    std::snprintf(text, sizeof text, "%.17g", v);
    out += line + " " + text + "\n";
  };
  series("callflow_sip_calls_active", "gauge", "SIP calls in progress.");
  value("callflow_sip_calls_active", static_cast<double>(impl_->live.size()));
  series("callflow_sip_max_concurrent_calls", "gauge", "The limit of calls at once.");
  value("callflow_sip_max_concurrent_calls", limits.max_calls);
  series("callflow_sip_max_cps", "gauge", "The limit of new calls per second (0: none).");
  value("callflow_sip_max_cps", limits.max_cps);
  series("callflow_sip_per_source_limit", "gauge",
         "Out-of-dialog requests one source may send per window (0: no limit).");
  value("callflow_sip_per_source_limit", limits.source_requests);
  series("callflow_sip_calls_rejected_total", "counter",
         "New calls answered 503 with Retry-After, by reason.");
  value("callflow_sip_calls_rejected_total{reason=\"draining\"}",
        static_cast<double>(c.rejected_draining.load()));
  value("callflow_sip_calls_rejected_total{reason=\"max_calls\"}",
        static_cast<double>(c.rejected_calls.load()));
  value("callflow_sip_calls_rejected_total{reason=\"max_cps\"}",
        static_cast<double>(c.rejected_rate.load()));
  series("callflow_sip_requests_dropped_total", "counter",
         "Requests from banned sources, dropped without an answer.");
  value("callflow_sip_requests_dropped_total", static_cast<double>(c.dropped_banned.load()));
  series("callflow_sip_source_bans_total", "counter", "Sources banned for passing their limit.");
  value("callflow_sip_source_bans_total", static_cast<double>(c.bans.load()));
  series("callflow_sip_sources_banned", "gauge", "Sources banned now (as of the last sweep).");
  value("callflow_sip_sources_banned", static_cast<double>(c.banned_now.load()));
  return out;
}

void SipCalls::stop() {
  Impl& impl = *impl_;
  if (impl.stopping) return;
  impl.stopping = true;
  impl.media_sweep.cancel();
  if (impl.stack) impl.stack->stop();  // BYE to answered calls, 503 to ringing ones
  // Each live call ends in the element it is in, and its coroutine writes its record.
  for (auto& [id, call] : impl.live) {
    call->end_status = "shutdown";
    call->line->callerHungUp();
  }
}

}  // namespace callflow
