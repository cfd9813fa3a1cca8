// WebAssets (the designer's files: loading, limits, links, how each request is answered) and
// the prompt name rules of the prompts API.
#include "server/web_assets.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/media_api.h"
#include "unit/store/temp_dir.h"
#include "unit/support/run_awaitable.h"

namespace callflow {
namespace {

using test_support::TempDir;

void writeFile(const std::filesystem::path& path, std::string_view text) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string_view headerOf(const Response& response, std::string_view name) {
  for (const auto& [key, value] : response.headers) {
    if (key == name) return value;
  }
  return {};
}

Request request(std::string_view method, std::string path, std::string accept = "") {
  Request out;
  out.method = method;
  out.path = std::move(path);
  if (!accept.empty()) out.headers.emplace_back("Accept", std::move(accept));
  return out;
}

// A built designer: index.html, a hashed asset, a favicon, a hidden file.
struct Dist {
  TempDir dir;
  std::filesystem::path root = dir.path() / "dist";
  Dist() {
    writeFile(root / "index.html", "<!doctype html><title>designer</title>");
    writeFile(root / "assets" / "app-1a2b.js", "console.log(1)");
    writeFile(root / "assets" / "app-1a2b.css", "body{}");
    writeFile(root / "favicon.ico", "ico");
    writeFile(root / ".git" / "config", "secret");
    writeFile(root / ".env", "secret");
  }
};

TEST(WebContentTypeTest, ByExtensionCaseInsensitive) {
  EXPECT_EQ(webContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(webContentType("assets/app.JS"), "text/javascript; charset=utf-8");
  EXPECT_EQ(webContentType("a/b.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(webContentType("x.css"), "text/css; charset=utf-8");
  EXPECT_EQ(webContentType("logo.svg"), "image/svg+xml");
  EXPECT_EQ(webContentType("logo.png"), "image/png");
  EXPECT_EQ(webContentType("favicon.ico"), "image/x-icon");
  EXPECT_EQ(webContentType("manifest.json"), "application/json");
  EXPECT_EQ(webContentType("font.woff2"), "font/woff2");
  EXPECT_EQ(webContentType("beep.wav"), "audio/wav");
  EXPECT_EQ(webContentType("app.js.map"), "application/json");
  EXPECT_EQ(webContentType("robots.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(webContentType("archive.tar"), "application/octet-stream");
  EXPECT_EQ(webContentType("Makefile"), "application/octet-stream");
  EXPECT_EQ(webContentType("dir.d/noext"), "application/octet-stream");
}

TEST(WebAssetsTest, LoadsEveryVisibleFile) {
  Dist dist;
  auto assets = WebAssets::load(dist.root);
  ASSERT_TRUE(assets) << assets.error().message;
  EXPECT_EQ((*assets)->files(), 4u);
  ASSERT_NE((*assets)->find("assets/app-1a2b.js"), nullptr);
  EXPECT_EQ((*assets)->find("assets/app-1a2b.js")->body, "console.log(1)");
  EXPECT_EQ((*assets)->find(".env"), nullptr);
  EXPECT_EQ((*assets)->find(".git/config"), nullptr);
}

TEST(WebAssetsTest, StartUpErrorsSayWhatIsWrong) {
  Dist dist;
  auto missing = WebAssets::load(dist.dir.path() / "nothing");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("make web"), std::string::npos);

  std::filesystem::remove(dist.root / "index.html");
  auto no_index = WebAssets::load(dist.root);
  ASSERT_FALSE(no_index);
  EXPECT_NE(no_index.error().message.find("no index.html"), std::string::npos);
  writeFile(dist.root / "index.html", "<html>");

  auto few = WebAssets::load(dist.root, WebAssetLimits{.max_files = 3});
  ASSERT_FALSE(few);
  EXPECT_NE(few.error().message.find("more than 3 files"), std::string::npos);
  writeFile(dist.root / "assets" / "big.js", std::string(2 << 20, 'x'));
  auto small = WebAssets::load(dist.root, WebAssetLimits{.max_bytes = 1 << 20});
  ASSERT_FALSE(small);
  EXPECT_NE(small.error().message.find("more than 1 MiB"), std::string::npos);

  // A link inside the folder is served; one leaving it refuses the whole folder.
  std::filesystem::create_symlink(dist.root / "favicon.ico", dist.root / "icon.ico");
  auto linked = WebAssets::load(dist.root);
  ASSERT_TRUE(linked) << linked.error().message;
  ASSERT_NE((*linked)->find("icon.ico"), nullptr);
  EXPECT_EQ((*linked)->find("icon.ico")->body, "ico");
  writeFile(dist.dir.path() / "secret.txt", "secret");
  std::filesystem::create_symlink(dist.dir.path() / "secret.txt", dist.root / "assets" / "s.txt");
  auto leaking = WebAssets::load(dist.root);
  ASSERT_FALSE(leaking);
  EXPECT_NE(leaking.error().message.find("assets/s.txt is a symbolic link that leaves"),
            std::string::npos)
      << leaking.error().message;
}

TEST(WebAssetsTest, AnswersFilesThePageAnd404s) {
  Dist dist;
  auto loaded = WebAssets::load(dist.root);
  ASSERT_TRUE(loaded) << loaded.error().message;
  const WebAssets& assets = **loaded;

  Response index = assets.serve(request("GET", "/"), "");
  EXPECT_EQ(index.status, 200);
  EXPECT_EQ(index.body, "<!doctype html><title>designer</title>");
  EXPECT_EQ(headerOf(index, "Cache-Control"), "no-cache");
  EXPECT_NE(headerOf(index, "Content-Security-Policy").find("frame-ancestors 'none'"),
            std::string_view::npos);
  EXPECT_EQ(headerOf(index, "X-Frame-Options"), "DENY");
  EXPECT_EQ(headerOf(index, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(headerOf(index, "Referrer-Policy"), "no-referrer");

  Response script = assets.serve(request("GET", "/assets/app-1a2b.js"), "assets/app-1a2b.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(headerOf(script, "Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(headerOf(script, "Content-Security-Policy"), "");
  EXPECT_EQ(headerOf(script, "X-Content-Type-Options"), "nosniff");

  // The ETag: a match (in a list, weak or not) is 304 with no body.
  std::string etag(headerOf(script, "ETag"));
  ASSERT_EQ(etag.size(), 18u);
  Request again = request("GET", "/assets/app-1a2b.js");
  again.headers.emplace_back("If-None-Match", "\"other\", W/" + etag);
  Response cached = assets.serve(again, "assets/app-1a2b.js");
  EXPECT_EQ(cached.status, 304);
  EXPECT_TRUE(cached.body.empty());
  EXPECT_NE(headerOf(assets.serve(request("GET", "/favicon.ico"), "favicon.ico"), "ETag"), etag);

  // The single-page app's own routes: the page for a browser, 404 for anything else.
  Response page = assets.serve(request("GET", "/flows/x", "text/html,*/*"), "flows/x");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.body, index.body);
  EXPECT_EQ(headerOf(page, "Cache-Control"), "no-cache");
  EXPECT_EQ(assets.serve(request("GET", "/flows/x", "application/json"), "flows/x").status, 404);
  EXPECT_EQ(assets.serve(request("GET", "/flows/x"), "flows/x").status, 404);
  Response missing_asset =
      assets.serve(request("GET", "/assets/gone.js", "text/html"), "assets/gone.js");
  EXPECT_EQ(headerOf(missing_asset, "Cache-Control"), "no-cache");  // the page, not immutable

  // API paths never fall back; odd paths name no file.
  for (std::string path : {"/api/v1/nope", "/api", "/leadservices/x", "/healthz/x", "/metrics/x"}) {
    Response api = assets.serve(request("GET", path, "text/html"), path.substr(1));
    EXPECT_EQ(api.status, 404) << path;
    EXPECT_EQ(api.content_type, "application/json") << path;
  }
  EXPECT_EQ(assets.serve(request("GET", "/apix", "text/html"), "apix").status, 200);
  EXPECT_EQ(assets.serve(request("GET", "/assets\\app-1a2b.js", "text/html"), "assets\\app-1a2b.js")
                .status,
            404);
  EXPECT_EQ(assets.serve(request("GET", "/.env", "*/*"), ".env").status, 404);

  Response post = assets.serve(request("POST", "/favicon.ico"), "favicon.ico");
  EXPECT_EQ(post.status, 405);
  EXPECT_EQ(headerOf(post, "Allow"), "GET, HEAD");
  EXPECT_EQ(assets.serve(request("HEAD", "/favicon.ico"), "favicon.ico").status, 200);
}

TEST(WebAssetsTest, WithoutAFolderTheRootSaysHowToBuildIt) {
  Router router;
  addWebAssets(router, nullptr);
  Response page = test_support::runAwaitable(router.dispatch(request("GET", "/")));
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(page.content_type, "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("make web"), std::string::npos);
  EXPECT_EQ(test_support::runAwaitable(router.dispatch(request("GET", "/flows"))).status, 404);
}

TEST(PromptNameTest, Rules) {
  for (std::string_view good : {"welcome.wav", "a.WAV", "Menu-2_b.Wav", "x..wav", "a.b.wav"}) {
    EXPECT_FALSE(promptNameProblem(good)) << good;
  }
  EXPECT_FALSE(promptNameProblem(std::string(60, 'a') + ".wav"));  // 64 characters
  for (std::string_view bad : {"", ".wav", ".x.wav", "x.mp3", "x.wav.txt", "wav", "a b.wav",
                               "a/b.wav", "..", "a\\b.wav", "é.wav", "x.wav\n"}) {
    EXPECT_TRUE(promptNameProblem(bad)) << bad;
  }
  EXPECT_TRUE(promptNameProblem(std::string(61, 'a') + ".wav"));  // 65
  EXPECT_TRUE(promptNameProblem(std::string_view("a\0.wav", 6)));
}

}  // namespace
}  // namespace callflow
