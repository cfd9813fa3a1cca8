// WebAssets: the designer's built files (web/dist: index.html, assets/*.js, *.css, fonts),
// read into memory once at start (`callflow serve --web DIR`) and served from there, so a file
// changed or removed while the server runs cannot be half-read, and no request path ever
// reaches the file system.
//
// What is read: every regular file under DIR, recursively, whose path has no segment starting
// with '.'. A symbolic link is followed when it stays inside DIR and is an error when it leaves
// it; a linked folder inside DIR is not walked again. Limits: 2,000 files and 64 MiB in all,
// and DIR must hold index.html; past a limit, start-up fails with a message that says which.
//
// How requests are answered (addWebAssets): API routes always win (the files are the router's
// prefix fallback). GET and HEAD of "/" give index.html, of "/PATH" the file PATH; any other
// path gives index.html when the request accepts text/html (the single-page app routes it),
// else 404. Paths under /api/, /leadservices/, /healthz and /metrics never fall back: they stay
// JSON 404s. Every answer carries nosniff, X-Frame-Options DENY and no-referrer; HTML carries
// the Content-Security-Policy; assets/ files are cached for a year (their names carry a content
// hash), everything else is revalidated (no-cache) by its ETag.
#pragma once

#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "callflow/result.h"
#include "server/router.h"

namespace callflow {

struct WebAssetLimits {
  std::size_t max_files = 2000;
  std::size_t max_bytes = 64 << 20;
};

struct WebFile {
  std::string body;
  std::string_view content_type;
  std::string etag;  // quoted: "\"5f1c...\""
};

class WebAssets {
 public:
  // Reads DIR. Errors name DIR and the problem (missing, no index.html, a link leaving it, over
  // a limit, a file that cannot be read).
  static Result<std::shared_ptr<const WebAssets>> load(const std::filesystem::path& dir,
                                                       WebAssetLimits limits = {});

  // The file at `path` relative to DIR ("index.html", "assets/app-1a2b.js"); null when none.
  const WebFile* find(std::string_view path) const;
  std::size_t files() const { return files_.size(); }
  std::size_t bytes() const { return bytes_; }

  // The answer to `request`, `path` being the request's path without its leading '/'.
  Response serve(const Request& request, std::string_view path) const;

 private:
  std::map<std::string, WebFile, std::less<>> files_;
  std::size_t bytes_ = 0;
};

// The Content-Type of a file by its extension (case-insensitive): text types with
// charset=utf-8; application/octet-stream for an extension not in the list.
std::string_view webContentType(std::string_view path);

// The security headers of every page and file, and on HTML the Content-Security-Policy.
void addWebSecurityHeaders(Response& response, bool html);

// With `assets`: the files as the router's prefix fallback (see above). Without (no --web):
// GET / answers a short HTML page saying the designer is not built and how to build it.
void addWebAssets(Router& router, std::shared_ptr<const WebAssets> assets);

}  // namespace callflow
