// The Request a handler sees, from a request Beast has parsed: what HttpServer does with each
// complete request before the router (the method known, the target parsed and its path
// normalised, Host present in HTTP/1.1, the headers and body moved over). Only for
// http_server.cpp and the admin API's fuzz target (fuzz/http_request_fuzz.cpp): it shows Beast.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <optional>

#include "server/router.h"

namespace callflow {

// Fills `request` from `message` (whose body it takes); nullopt, or the server's own answer
// (400, 501) when the request cannot go to a handler.
std::optional<Response> toRequest(
    boost::beast::http::request<boost::beast::http::string_body>& message, Request& request);

}  // namespace callflow
