// The Lead Web API, in the seed product's shape, for users with the `api` role (HTTP Basic):
//   GET  /leadservices/api/v2/leads/{id}                    the lead
//   GET  /leadservices/api/v2/leads/{id}/fields/{fieldId}   {"FieldId": 158, "Value": "Gold"}
//   PUT  /leadservices/api/v2/leads/{id}/fields/{fieldId}   the same body: sets the field
//   POST /leadservices/api/v2/leads                         creates a lead: 201 with it
// Reads use the loop's read-only connection; writes go through the database writer.
#include <boost/json.hpp>

#include "server/context.h"
#include "store/lead_json.h"

namespace callflow {
namespace {

constexpr std::string_view kLeads = "/leadservices/api/v2/leads";

Result<int> parseFieldId(std::string_view text) {
  auto id = parseId(text, "field id");
  if (!id) return id.error();
  if (*id > 1'000'000'000) {
    return fail(ErrorCode::kInvalidArgument, "field id " + std::string(text) + " is too large");
  }
  return static_cast<int>(*id);
}

// {id} and {fieldId} of …/leads/{id}/fields/{fieldId}.
Result<std::pair<std::int64_t, int>> fieldAddress(const PathParams& params) {
  auto id = parseId(params.get("id"), "lead id");
  if (!id) return id.error();
  auto field_id = parseFieldId(params.get("fieldId"));
  if (!field_id) return field_id.error();
  return std::pair{*id, *field_id};
}

boost::asio::awaitable<Response> getLead(ServerContext& context, const Request& request,
                                         const PathParams& params) {
  auto who = co_await context.basic(request, "api");
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto id = parseId(params.get("id"), "lead id");
  if (!id) co_return badRequest(id.error().message);
  auto lead = context.reader.leadById(*id);
  if (!lead) co_return storeFailure(lead.error());
  if (!*lead) co_return Response::error(404, "no lead " + std::to_string(*id));
  co_return Response::json(200, leadToWebApiJson(**lead));
}

boost::asio::awaitable<Response> getField(ServerContext& context, const Request& request,
                                          const PathParams& params) {
  auto who = co_await context.basic(request, "api");
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto address = fieldAddress(params);
  if (!address) co_return badRequest(address.error().message);
  const std::int64_t id = address->first;
  const int field_id = address->second;
  auto value = context.reader.customField(id, field_id);
  if (!value) co_return storeFailure(value.error());
  if (!*value) {
    auto lead = context.reader.leadById(id);
    if (!lead) co_return storeFailure(lead.error());
    if (!*lead) co_return Response::error(404, "no lead " + std::to_string(id));
    co_return Response::error(
        404, "lead " + std::to_string(id) + " has no field " + std::to_string(field_id));
  }
  co_return Response::json(200, boost::json::object{{"FieldId", field_id}, {"Value", **value}});
}

boost::asio::awaitable<Response> putField(ServerContext& context, const Request& request,
                                          const PathParams& params) {
  auto who = co_await context.basic(request, "api");
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto address = fieldAddress(params);
  if (!address) co_return badRequest(address.error().message);
  const std::int64_t id = address->first;
  const int field_id = address->second;
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  const boost::json::object* object = body->if_object();
  if (!object) co_return badRequest("the body must be {\"FieldId\": number, \"Value\": text}");
  std::string value;
  for (const auto& [key, item] : *object) {
    if (key == "Value" && item.is_string()) {
      value = std::string(item.get_string());
    } else if (key == "FieldId" && item.is_int64()) {
      if (item.get_int64() != field_id) {
        co_return badRequest("\"FieldId\" " + std::to_string(item.get_int64()) +
                             " differs from the URL's " + std::to_string(field_id));
      }
    } else if (key == "Value" || key == "FieldId") {
      co_return badRequest("\"" + std::string(key) + "\" must be " +
                           (key == "Value" ? "text" : "a number"));
    } else {
      co_return badRequest("unknown key \"" + std::string(key) +
                           "\" (the body is {\"FieldId\": number, \"Value\": text})");
    }
  }
  if (!object->contains("Value")) co_return badRequest("the body needs \"Value\"");
  if (value.size() > 4096 || value.find('\0') != std::string::npos) {
    co_return badRequest("\"Value\" must be text of at most 4096 bytes without NUL");
  }
  Result<bool> written = false;
  co_await context.writer.run(
      [&](Database& db) { written = db.setCustomField(id, field_id, value); });
  if (!written) co_return storeFailure(written.error());
  if (!*written) co_return Response::error(404, "no lead " + std::to_string(id));
  co_return Response::json(200, boost::json::object{{"FieldId", field_id}, {"Value", value}});
}

boost::asio::awaitable<Response> createLead(ServerContext& context, const Request& request,
                                            const PathParams&) {
  auto who = co_await context.basic(request, "api");
  if (auto* denied = std::get_if<Response>(&who)) co_return std::move(*denied);
  auto body = parseBody(request);
  if (!body) co_return badRequest(body.error().message);
  auto lead = leadFromWebApiJson(*body);
  if (!lead) co_return badRequest(lead.error().message);
  Result<std::int64_t> id = std::int64_t{0};
  co_await context.writer.run([&](Database& db) { id = db.insertLead(*lead); });
  if (!id) co_return storeFailure(id.error());
  lead->id = *id;
  Response response = Response::json(201, leadToWebApiJson(*lead));
  response.headers.emplace_back("Location", std::string(kLeads) + "/" + std::to_string(*id));
  co_return response;
}

}  // namespace

void addLeadWebApi(Router& router, ServerContext& context) {
  auto bind = [&context](auto handler) {
    return [&context, handler](const Request& request, const PathParams& params) {
      return handler(context, request, params);
    };
  };
  std::string leads(kLeads);
  router.add("GET", leads + "/{id}", bind(getLead));
  router.add("GET", leads + "/{id}/fields/{fieldId}", bind(getField));
  router.add("PUT", leads + "/{id}/fields/{fieldId}", bind(putField));
  router.add("POST", leads, bind(createLead));
}

}  // namespace callflow
