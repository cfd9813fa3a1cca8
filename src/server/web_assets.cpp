#include "server/web_assets.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

namespace callflow {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'";
constexpr std::string_view kImmutable = "public, max-age=31536000, immutable";
constexpr std::string_view kRevalidate = "no-cache";

constexpr std::string_view kNotBuiltPage =
    "<!doctype html>\n"
    "<html lang=\"en\">\n"
    "<head><meta charset=\"utf-8\"><title>Callflow</title></head>\n"
    "<body>\n"
    "<h1>Callflow</h1>\n"
    "<p>The web designer is not built.</p>\n"
    "<p>Build it with <code>make web</code>, then start the server with "
    "<code>callflow serve --web web/dist</code> (<code>make run</code> passes it when "
    "web/dist/index.html exists).</p>\n"
    "<p>The admin API is at <code>/api/v1</code> (docs/ADMIN_API.md).</p>\n"
    "</body>\n"
    "</html>\n";

char lowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), lowerAscii);
  return out;
}

// Paths the API owns: never a file, never the page.
bool apiPath(std::string_view path) {
  for (std::string_view root : {"/api", "/leadservices", "/healthz", "/metrics"}) {
    if (path.starts_with(root) && (path.size() == root.size() || path[root.size()] == '/')) {
      return true;
    }
  }
  return false;
}

bool acceptsHtml(const Request& request) {
  return lower(request.header("Accept")).find("text/html") != std::string::npos;
}

// FNV-1a, 64 bits, as 16 hex digits in quotes: a strong ETag of the content.
std::string etagOf(std::string_view body) {
  std::uint64_t hash = 14695981039346656037ull;
  for (char c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 1099511628211ull;
  }
  constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (int shift = 60; shift >= 0; shift -= 4) out += kHex[(hash >> shift) & 0xF];
  out += '"';
  return out;
}

// Whether If-None-Match (a list of entity tags, or "*") names `etag` (weak comparison).
bool matchesEtag(std::string_view if_none_match, std::string_view etag) {
  while (!if_none_match.empty()) {
    std::size_t comma = if_none_match.find(',');
    std::string_view tag = if_none_match.substr(0, comma);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    if (comma == std::string_view::npos) break;
    if_none_match.remove_prefix(comma + 1);
  }
  return false;
}

// A path segment starting with '.' (".git", ".DS_Store"): not served.
bool hidden(const fs::path& relative) {
  return std::any_of(relative.begin(), relative.end(),
                     [](const fs::path& part) { return part.native().starts_with('.'); });
}

bool inside(const fs::path& path, const fs::path& root) {
  auto [root_end, path_at] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end() && path_at != path.end();
}

Response notFound(const Request& request) {
  Response response = Response::error(404, "not found: " + request.path);
  addWebSecurityHeaders(response, false);
  response.headers.emplace_back("Vary", "Accept");
  return response;
}

}  // namespace

std::string_view webContentType(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 13> kTypes{{
      {"html", "text/html; charset=utf-8"},
      {"js", "text/javascript; charset=utf-8"},
      {"mjs", "text/javascript; charset=utf-8"},
      {"css", "text/css; charset=utf-8"},
      {"svg", "image/svg+xml"},
      {"png", "image/png"},
      {"ico", "image/x-icon"},
      {"json", "application/json"},
      {"woff2", "font/woff2"},
      {"wav", "audio/wav"},
      {"map", "application/json"},
      {"txt", "text/plain; charset=utf-8"},
      {"webmanifest", "application/manifest+json"},
  }};
  std::size_t slash = path.rfind('/');
  std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  std::size_t dot = name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  std::string extension = lower(name.substr(dot + 1));
  for (const auto& [known, type] : kTypes) {
    if (extension == known) return type;
  }
  return "application/octet-stream";
}

void addWebSecurityHeaders(Response& response, bool html) {
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  response.headers.emplace_back("X-Frame-Options", "DENY");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (html) response.headers.emplace_back("Content-Security-Policy", kContentSecurityPolicy);
}

Result<std::shared_ptr<const WebAssets>> WebAssets::load(const fs::path& dir,
                                                         WebAssetLimits limits) {
  const std::string where = "--web " + dir.string() + ": ";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return fail(ErrorCode::kNotFound,
                where + "not a directory (build the designer with `make web`)");
  }
  fs::path root = fs::canonical(dir, ec);
  if (ec) return fail(ErrorCode::kNotFound, where + ec.message());

  auto assets = std::make_shared<WebAssets>();
  std::vector<std::pair<std::string, fs::path>> wanted;  // served path, file to read
  std::size_t total = 0;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) return fail(ErrorCode::kFailedPrecondition, where + ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) break;
    const fs::directory_entry& entry = *it;
    fs::path relative = entry.path().lexically_relative(root);
    std::string served = relative.generic_string();
    if (hidden(relative)) {
      if (entry.is_directory(ec) && !entry.is_symlink(ec)) it.disable_recursion_pending();
      continue;
    }
    fs::path file = entry.path();
    if (entry.is_symlink(ec)) {
      fs::path target = fs::canonical(entry.path(), ec);
      if (ec || !inside(target, root)) {
        return fail(ErrorCode::kInvalidArgument,
                    where + served + " is a symbolic link that leaves the folder");
      }
      if (!fs::is_regular_file(target, ec)) continue;  // a linked folder: its files are in DIR
      file = target;
    } else if (!entry.is_regular_file(ec)) {
      continue;  // a folder (walked), or a FIFO, socket, device: never read
    }
    if (wanted.size() >= limits.max_files) {
      return fail(ErrorCode::kInvalidArgument, where + "more than " +
                                                   std::to_string(limits.max_files) +
                                                   " files; is it the designer's build output?");
    }
    std::uintmax_t size = fs::file_size(file, ec);
    if (ec) return fail(ErrorCode::kFailedPrecondition, where + served + ": " + ec.message());
    total += static_cast<std::size_t>(size);
    if (total > limits.max_bytes) {
      return fail(ErrorCode::kInvalidArgument,
                  where + "more than " + std::to_string(limits.max_bytes >> 20) +
                      " MiB of files; is it the designer's build output?");
    }
    wanted.emplace_back(std::move(served), std::move(file));
  }
  if (ec) return fail(ErrorCode::kFailedPrecondition, where + ec.message());

  for (auto& [served, file] : wanted) {
    std::ifstream in(file, std::ios::binary);
    std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (!in && !in.eof()) {
      return fail(ErrorCode::kFailedPrecondition, where + served + ": cannot be read");
    }
    assets->bytes_ += body.size();
    WebFile web{.content_type = webContentType(served), .etag = etagOf(body)};
    web.body = std::move(body);
    assets->files_.emplace(std::move(served), std::move(web));
  }
  if (assets->bytes_ > limits.max_bytes) {  // a file that grew while it was read
    return fail(ErrorCode::kInvalidArgument,
                where + "more than " + std::to_string(limits.max_bytes >> 20) + " MiB of files");
  }
  if (!assets->find("index.html")) {
    return fail(ErrorCode::kNotFound,
                where +
                    "no index.html (build the designer with `make web`; its output is "
                    "web/dist)");
  }
  return std::shared_ptr<const WebAssets>(std::move(assets));
}

const WebFile* WebAssets::find(std::string_view path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : &it->second;
}

Response WebAssets::serve(const Request& request, std::string_view path) const {
  if (apiPath(request.path)) return Response::error(404, "not found: " + request.path);
  // The router has refused NUL, "." and ".." segments and encoded slashes; a backslash or a
  // control character names no file here either.
  bool odd = std::any_of(path.begin(), path.end(), [](char c) {
    return c == '\\' || static_cast<unsigned char>(c) < 0x20 || c == 0x7F;
  });
  const WebFile* file = odd ? nullptr : find(path.empty() ? std::string_view("index.html") : path);
  bool fallback = false;
  if (!file && !odd && acceptsHtml(request)) {
    file = find("index.html");
    fallback = true;
  }
  if (!file) return notFound(request);
  if (request.method != "GET" && request.method != "HEAD") {
    Response response = Response::error(
        405, "method " + std::string(request.method) + " is not allowed on " + request.path);
    response.headers.emplace_back("Allow", "GET, HEAD");
    addWebSecurityHeaders(response, false);
    return response;
  }

  bool html = file->content_type.starts_with("text/html");
  bool immutable = !fallback && path.starts_with("assets/");
  Response response;
  response.content_type = std::string(file->content_type);
  response.headers.emplace_back("ETag", file->etag);
  response.headers.emplace_back("Cache-Control", immutable ? kImmutable : kRevalidate);
  if (fallback) response.headers.emplace_back("Vary", "Accept");
  addWebSecurityHeaders(response, html);
  if (matchesEtag(request.header("If-None-Match"), file->etag)) {
    response.status = 304;
    return response;
  }
  response.body = file->body;
  return response;
}

void addWebAssets(Router& router, std::shared_ptr<const WebAssets> assets) {
  if (!assets) {
    router.add("GET", "/",
               [](const Request&, const PathParams&) -> boost::asio::awaitable<Response> {
                 Response response;
                 response.content_type = "text/html; charset=utf-8";
                 response.body = std::string(kNotBuiltPage);
                 response.headers.emplace_back("Cache-Control", kRevalidate);
                 addWebSecurityHeaders(response, true);
                 co_return response;
               });
    return;
  }
  router.addPrefix(
      "/",
      [assets = std::move(assets)](const Request& request,
                                   const PathParams& params) -> boost::asio::awaitable<Response> {
        co_return assets->serve(request, params.get("rest"));
      });
}

}  // namespace callflow
