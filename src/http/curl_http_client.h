// CurlHttpClient: HttpClient on libcurl's multi interface, driven by one Asio io_context.
//
// One client per worker loop; every exchange it sends runs on that loop, so thousands can be
// in flight without a thread each and connections to the same host are reused. libcurl tells
// us which sockets to watch and when its timer is due (CURLMOPT_SOCKETFUNCTION and
// TIMERFUNCTION); Asio waits for them. One timeout covers connect to last byte. Each socket is
// opened by us (CURLOPT_OPENSOCKETFUNCTION), where the outbound policy checks the address
// actually connected to, so neither DNS nor a redirect reaches a denied address.
// Not thread-safe: use it from its loop's thread only.
#pragma once

#include <memory>

#include "callflow/http_client.h"
#include "http/outbound_policy.h"

namespace boost::asio {
class io_context;
}

namespace callflow {

struct HttpClientOptions {
  OutboundPolicy policy;
  std::string ca_file;  // empty: the system's CA store
};

class CurlHttpClient : public HttpClient {
 public:
  CurlHttpClient(boost::asio::io_context& loop, HttpClientOptions options);
  ~CurlHttpClient() override;
  CurlHttpClient(const CurlHttpClient&) = delete;
  CurlHttpClient& operator=(const CurlHttpClient&) = delete;

  boost::asio::awaitable<HttpResponse> send(HttpRequest request) override;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace callflow
