#include "server/server_app.h"

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>

#include "elements/elements.h"
#include "engine/secrets.h"
#include "http/curl_http_client.h"
#include "server/context.h"
#include "server/http_server.h"
#include "server/media_api.h"
#include "server/sip_calls.h"
#include "server/web_assets.h"

namespace callflow {

struct ServerApp::Parts {
  std::unique_ptr<DbWorker> writer;
  std::unique_ptr<Database> reader;
  std::unique_ptr<DbWorker> checker;
  SecretMap secrets;
  std::unique_ptr<CurlHttpClient> http;
  Metrics metrics;
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<MediaApi> media;  // before context: SIP calls use its prompt cache
  std::unique_ptr<ServerContext> context;
  Router router;
  std::unique_ptr<HttpServer> server;
  std::unique_ptr<SipCalls> sip;
  std::string flows_dir;                // --flows: deployed again on SIGHUP
  std::vector<std::string> flow_files;  // --flow FILE, --route NUMBER=FILE: so are they
};

namespace {

Result<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::kNotFound, "cannot read \"" + path.string() + "\"");
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

constexpr const char* kDeployedBy = "callflow serve --flows";  // any file named at start

// Saves the flow in `path` as a new version when its text changed since it was last deployed
// from a file. Returns the flow's name; empty when it has errors (reported, not deployed: the
// stored version, if any, stays).
Result<std::string> deployFile(const std::filesystem::path& path, DbWorker& writer) {
  auto text = readFile(path);
  if (!text) return text.error();
  LoadedFlow loaded = loadFlow(*text, elementTypes());
  if (!loaded.flow) {
    for (const Problem& p : loaded.diagnostics.problems()) {
      std::cerr << "callflow serve: " << path.string() << ": " << p.text() << '\n';
    }
    std::cerr << "callflow serve: " << path.string() << " not deployed (it has errors)\n";
    return std::string();
  }
  // Deployed when the file changed since it was last deployed from a file; a version saved
  // since through the admin API is newer than the file and stays.
  const std::string name = loaded.flow->name;
  Result<int> version = 0;
  std::string note;
  writer.runSync([&](Database& db) {
    auto versions = db.flowVersions(name);
    if (!versions) {
      version = versions.error();
      return;
    }
    const FlowVersion* from_file = nullptr;
    for (const FlowVersion& v : *versions) {
      if (v.saved_by == kDeployedBy) {
        from_file = &v;
        break;
      }
    }
    if (from_file) {
      auto body = db.flow(name, from_file->version);
      if (!body) {
        version = body.error();
        return;
      }
      if (*body && (*body)->body == *text) return;  // unchanged since its last deployment
    }
    // Drafts are never deployed, so they do not count: the newest version that is not one does.
    auto live = std::find_if(versions->begin(), versions->end(),
                             [](const FlowVersion& v) { return !v.draft; });
    if (live != versions->end() && live->saved_by != kDeployedBy) {
      note = "flow \"" + name + "\" has a newer version (" + std::to_string(live->version) +
             ", saved by " + live->saved_by + "); " + path.string() + " is not deployed";
      return;
    }
    version = db.saveFlow(name, *text, kDeployedBy);
  });
  if (!note.empty()) std::cerr << "callflow serve: " << note << '\n';
  if (!version) return version.error();
  return name;
}

// Deploys each .json file of dir (see deployFile); a flow with errors is left out.
Result<void> deployDirectory(const std::string& dir, DbWorker& writer) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(ErrorCode::kNotFound, "--flows: \"" + dir + "\" is not a directory");
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& path : files) {
    if (auto deployed = deployFile(path, writer); !deployed) return deployed.error();
  }
  return {};
}

// Whether a flow named on the command line is a file (else the name of a stored flow).
bool isFlowFile(const std::string& value) {
  std::error_code ec;
  return value.ends_with(".json") || std::filesystem::is_regular_file(value, ec);
}

// A flow named on the command line (--flow FILE, --route NUMBER=FILE|NAME): a file is
// deployed and must load; anything else is taken as the name of a stored flow.
Result<std::string> flowArgument(const std::string& option, const std::string& value,
                                 DbWorker& writer) {
  if (!isFlowFile(value)) return value;
  auto name = deployFile(value, writer);
  if (!name) return fail(name.error().code, option + ": " + name.error().message);
  if (name->empty()) {
    return fail(ErrorCode::kInvalidArgument, option + " " + value + ": the flow has errors");
  }
  return name;
}

// The newest version of every stored flow that is not a draft goes live (a flow with only
// drafts is not deployed). A flow whose live version is already that one is left as it is; calls
// running an older version keep it (they hold its Flow).
Result<void> goLive(ServerApp::Parts& parts) {
  auto flows = parts.reader->listLiveFlows();
  if (!flows) return flows.error();
  for (const FlowVersion& stored : *flows) {
    if (auto it = parts.context->flows.find(stored.name);
        it != parts.context->flows.end() && it->second.version == stored.version) {
      continue;
    }
    LoadedFlow loaded = loadFlow(stored.body, elementTypes());
    if (!loaded.flow) {
      std::cerr << "callflow serve: flow \"" << stored.name << "\" version " << stored.version
                << " no longer loads; it is not live:\n";
      for (const Problem& p : loaded.diagnostics.problems()) std::cerr << "  " << p.text() << '\n';
      continue;
    }
    addSecretsFromEnvironment(loaded.flow->secret_names, parts.secrets);
    for (const std::string& name : loaded.flow->secret_names) {
      if (parts.secrets.find(name) == parts.secrets.end()) {
        std::cerr << "callflow serve: flow \"" << stored.name << "\" uses {{secret." << name
                  << "}}, which is not configured (--secrets FILE or CALLFLOW_SECRET_" << name
                  << ")\n";
      }
    }
    Diagnostics dialling;
    checkDialTargets(*loaded.flow, &parts.context->transfers, dialling);
    for (const Problem& p : dialling.problems()) {
      if (p.severity != Problem::Severity::kError) continue;
      std::cerr << "callflow serve: flow \"" << stored.name << "\": " << p.text()
                << "; its calls take that Transfer's error exit\n";
    }
    std::cerr << "callflow serve: flow \"" << stored.name << "\" version " << stored.version
              << " is live\n";
    parts.context->flows[stored.name] = DeployedFlow{loaded.flow, stored.version};
  }
  return {};
}

}  // namespace

ServerApp::ServerApp(std::unique_ptr<Parts> parts) : parts_(std::move(parts)) {}

ServerApp::~ServerApp() {
  if (parts_ && parts_->context) parts_->context->extra_metrics = nullptr;
  if (parts_ && parts_->sip) parts_->sip.reset();
  if (parts_ && parts_->server) parts_->server->stop();
}

std::uint16_t ServerApp::port() const { return parts_->server->port(); }

void ServerApp::stop() {
  parts_->server->stop();
  if (parts_->sip) parts_->sip->stop();
}

void ServerApp::drain() {
  parts_->context->draining = true;
  if (parts_->sip) parts_->sip->drain();
}

int ServerApp::liveCalls() const { return parts_->sip ? parts_->sip->liveCalls() : 0; }

std::uint16_t ServerApp::sipPort() const { return parts_->sip ? parts_->sip->port() : 0; }

void ServerApp::reloadFlows() {
  if (!parts_->flows_dir.empty()) {
    if (auto deployed = deployDirectory(parts_->flows_dir, *parts_->writer); !deployed) {
      std::cerr << "callflow serve: reload: " << deployed.error().message << '\n';
    }
  }
  for (const std::string& file : parts_->flow_files) {
    if (auto deployed = deployFile(file, *parts_->writer); !deployed) {
      std::cerr << "callflow serve: reload: " << deployed.error().message << '\n';
    }
  }
  if (auto live = goLive(*parts_); !live) {
    std::cerr << "callflow serve: reload: " << live.error().message << '\n';
  }
}

void ServerApp::flushDatabase() {
  parts_->writer->runSync([](Database&) {});
}

Result<std::unique_ptr<ServerApp>> ServerApp::start(boost::asio::io_context& loop,
                                                    const ServeConfig& config) {
  auto parts = std::make_unique<Parts>();
  std::shared_ptr<const WebAssets> web;  // read first: a wrong --web fails before anything opens
  if (!config.web_dir.empty()) {
    auto loaded = WebAssets::load(config.web_dir);
    if (!loaded) return loaded.error();
    web = std::move(*loaded);
    std::cerr << "callflow serve: the designer: " << web->files() << " files ("
              << (web->bytes() + 1023) / 1024 << " KiB) from " << config.web_dir << '\n';
  }
  DatabaseOptions options;
  options.default_country = config.country;
  auto writer_db = Database::open(config.db_path, options);
  if (!writer_db) return writer_db.error();
  auto settings = (*writer_db)->settingsReport();
  if (!settings) return settings.error();
  std::cerr << "callflow serve: database " << config.db_path << ": " << *settings << '\n';
  auto closed = (*writer_db)->closeInterruptedCalls();
  if (!closed) return closed.error();
  if (*closed > 0) {
    std::cerr << "callflow serve: " << *closed
              << " call record(s) left open by the last run closed as interrupted\n";
  }
  parts->writer = std::make_unique<DbWorker>(std::move(*writer_db));
  if (!config.flows_dir.empty()) {
    if (auto deployed = deployDirectory(config.flows_dir, *parts->writer); !deployed) {
      return deployed.error();
    }
  }
  SipConfig sip = config.sip;
  if (!config.sip_flow.empty()) {
    auto name = flowArgument("--flow", config.sip_flow, *parts->writer);
    if (!name) return name.error();
    sip.default_flow = *name;
  }
  for (const auto& [number, flow] : config.sip_routes) {
    auto name = flowArgument("--route " + number, flow, *parts->writer);
    if (!name) return name.error();
    sip.routes[number] = *name;
  }

  DatabaseOptions read_only = options;
  read_only.read_only = true;
  auto reader = Database::open(config.db_path, read_only);
  if (!reader) return reader.error();
  parts->reader = std::move(*reader);
  auto checker = Database::open(config.db_path, read_only);
  if (!checker) return checker.error();
  parts->checker = std::make_unique<DbWorker>(std::move(*checker));

  if (!config.secrets_path.empty()) {
    auto secrets = loadSecretsFile(config.secrets_path);
    if (!secrets) return fail(secrets.error().code, "--secrets: " + secrets.error().message);
    parts->secrets = std::move(*secrets);
  }

  HttpClientOptions http_options;
  auto policy = OutboundPolicy::configured(config.allow, config.deny, config.allow_env);
  if (!policy) return policy.error();
  http_options.policy = std::move(*policy);
  http_options.ca_file = config.ca_file;
  parts->http = std::make_unique<CurlHttpClient>(loop, std::move(http_options));
  parts->auth = std::make_unique<Authenticator>(*parts->checker, *parts->reader);
  parts->context = std::make_unique<ServerContext>(ServerContext{
      *parts->writer,
      *parts->reader,
      *parts->auth,
      parts->metrics,
      CallMetrics{&parts->metrics,
                  parts->metrics.histogram("callflow_api_request_seconds",
                                           "ApiRequest exchange time, connect to last byte")},
      parts->secrets,
      *parts->http,
      {}});
  parts->context->transfers.patterns = config.transfer_allow;
  parts->context->record_write_failures = parts->metrics.counter(
      "callflow_record_write_failures_total",
      "Call records lost: the database refused them and the spool could not keep them.");
  parts->media = std::make_unique<MediaApi>(config.prompts_dir);
  parts->context->prompts = parts->media->prompts();

  if (auto live = goLive(*parts); !live) return live.error();
  parts->flows_dir = config.flows_dir;
  if (isFlowFile(config.sip_flow)) parts->flow_files.push_back(config.sip_flow);
  for (const auto& route : config.sip_routes) {
    if (isFlowFile(route.second)) parts->flow_files.push_back(route.second);
  }

  addLeadWebApi(parts->router, *parts->context);
  addAdminApi(parts->router, *parts->context);
  addDesignerApi(parts->router, *parts->context);
  addOpsEndpoints(parts->router, *parts->context);
  parts->media->addRoutes(parts->router, *parts->context);
  addWebAssets(parts->router, std::move(web));
  HttpServerOptions server_options;
  server_options.host = config.http_host;
  server_options.port = config.http_port;
  server_options.metrics = &parts->metrics;
  parts->server = std::make_unique<HttpServer>(loop, parts->router, server_options);
  if (auto listening = parts->server->listen(); !listening) return listening.error();
  if (!sip.listen.empty()) {
    if (!sip.default_flow.empty() && !parts->context->flows.contains(sip.default_flow)) {
      return fail(ErrorCode::kNotFound, "--flow: no live flow \"" + sip.default_flow + "\"");
    }
    auto calls = SipCalls::start(loop, *parts->context, std::move(sip));
    if (!calls) return calls.error();
    parts->sip = std::move(*calls);
  }
  parts->context->extra_metrics = [sip = parts->sip.get(), writer = parts->writer.get()] {
    return recordSpoolMetrics(writer->recordSpool()) + (sip ? sip->metricsText() : "");
  };
  return std::unique_ptr<ServerApp>(new ServerApp(std::move(parts)));
}

}  // namespace callflow
