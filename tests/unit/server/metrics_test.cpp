// Metrics: exact Prometheus text for a small registry, label escaping, dynamic series, concurrency.
#include "server/metrics.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace callflow {
namespace {

TEST(MetricsTest, RendersExactExpositionText) {
  Metrics metrics;
  Counter ok =
      metrics.counter("callflow_http_server_requests_total", "HTTP responses.", {{"code", "2xx"}});
  Counter failed =
      metrics.counter("callflow_http_server_requests_total", "HTTP responses.", {{"code", "5xx"}});
  Counter plain =
      metrics.counter("callflow_up_total", "Line one\nwith \\ backslash and \"quotes\".");
  Histogram latency =
      metrics.histogram("callflow_api_request_seconds", "API latency.", {}, {0.125, 1, 2.5});
  metrics.counter("callflow_element_visits_total", "Visits.", {{"type", "Say \"hi\"\\\n"}}).inc();
  ok.inc();
  ok.inc(2);
  failed.inc();
  latency.observe(0.0625);
  latency.observe(0.125);  // a bound is inclusive
  latency.observe(2);
  latency.observe(100);
  EXPECT_EQ(metrics.render(),
            "# HELP callflow_http_server_requests_total HTTP responses.\n"
            "# TYPE callflow_http_server_requests_total counter\n"
            "callflow_http_server_requests_total{code=\"2xx\"} 3\n"
            "callflow_http_server_requests_total{code=\"5xx\"} 1\n"
            "# HELP callflow_up_total Line one\\nwith \\\\ backslash and \"quotes\".\n"
            "# TYPE callflow_up_total counter\n"
            "callflow_up_total 0\n"
            "# HELP callflow_api_request_seconds API latency.\n"
            "# TYPE callflow_api_request_seconds histogram\n"
            "callflow_api_request_seconds_bucket{le=\"0.125\"} 2\n"
            "callflow_api_request_seconds_bucket{le=\"1\"} 2\n"
            "callflow_api_request_seconds_bucket{le=\"2.5\"} 3\n"
            "callflow_api_request_seconds_bucket{le=\"+Inf\"} 4\n"
            "callflow_api_request_seconds_sum 102.1875\n"
            "callflow_api_request_seconds_count 4\n"
            "# HELP callflow_element_visits_total Visits.\n"
            "# TYPE callflow_element_visits_total counter\n"
            "callflow_element_visits_total{type=\"Say \\\"hi\\\"\\\\\\n\"} 1\n");
  EXPECT_EQ(ok.value(), 3u);
  EXPECT_EQ(plain.value(), 0u);
}

TEST(MetricsTest, LabelledHistogramWithDefaultBuckets) {
  Metrics metrics;
  Histogram histogram = metrics.histogram("callflow_x_seconds", "X.", {{"outcome", "2xx"}});
  histogram.observe(0.003);
  std::string text = metrics.render();
  EXPECT_NE(text.find("callflow_x_seconds_bucket{outcome=\"2xx\",le=\"0.001\"} 0\n"
                      "callflow_x_seconds_bucket{outcome=\"2xx\",le=\"0.005\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("callflow_x_seconds_bucket{outcome=\"2xx\",le=\"10\"} 1\n"
                      "callflow_x_seconds_bucket{outcome=\"2xx\",le=\"+Inf\"} 1\n"
                      "callflow_x_seconds_sum{outcome=\"2xx\"} 0.003\n"
                      "callflow_x_seconds_count{outcome=\"2xx\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2 + 13 + 2);
}

TEST(MetricsTest, DynamicLabelValuesShareTheirSeriesAndSortInRender) {
  Metrics metrics;
  for (const char* type : {"Menu", "Play", "Menu"}) {
    metrics.counter("callflow_element_visits_total", "Visits.", {{"type", type}}).inc();
  }
  EXPECT_EQ(metrics.render(),
            "# HELP callflow_element_visits_total Visits.\n"
            "# TYPE callflow_element_visits_total counter\n"
            "callflow_element_visits_total{type=\"Menu\"} 2\n"
            "callflow_element_visits_total{type=\"Play\"} 1\n");
}

TEST(MetricsTest, MisuseGetsAHandleThatIsNotRendered) {
  Metrics metrics;
  metrics.counter("callflow_calls_total", "Calls.", {{"result", "ok"}}).inc();
  std::string before = metrics.render();
  Histogram wrong_type = metrics.histogram("callflow_calls_total", "Calls.");
  Counter wrong_labels = metrics.counter("callflow_calls_total", "Calls.", {{"other", "x"}});
  Counter bad_name = metrics.counter("callflow calls", "Calls.");
  Counter bad_label = metrics.counter("callflow_y_total", "Y.", {{"__reserved", "x"}});
  Histogram le_label = metrics.histogram("callflow_z_seconds", "Z.", {{"le", "1"}});
  Histogram unsorted = metrics.histogram("callflow_w_seconds", "W.", {}, {1, 0.5});
  wrong_type.observe(1);
  wrong_labels.inc();
  bad_name.inc();
  bad_label.inc();
  le_label.observe(1);
  unsorted.observe(1);
  EXPECT_EQ(wrong_labels.value(), 1u);
  EXPECT_EQ(metrics.render(), before);
  Counter none;  // a default handle counts nowhere
  none.inc();
  EXPECT_EQ(none.value(), 0u);
  Histogram{}.observe(1);
}

TEST(MetricsTest, CountsFromManyThreads) {
  Metrics metrics;
  Counter counter = metrics.counter("callflow_t_total", "T.");
  Histogram histogram = metrics.histogram("callflow_t_seconds", "T.", {}, {1});
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        counter.inc();
        histogram.observe(0.5);
        metrics.counter("callflow_d_total", "D.", {{"n", std::to_string(i % 3)}}).inc();
      }
    });
  }
  std::string during = metrics.render();  // rendering while counting is allowed
  for (std::thread& thread : threads) thread.join();
  EXPECT_FALSE(during.empty());
  EXPECT_EQ(counter.value(), 40000u);
  std::string text = metrics.render();
  EXPECT_NE(text.find("callflow_t_seconds_count 40000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("callflow_t_seconds_sum 20000\n"), std::string::npos) << text;
  EXPECT_NE(text.find("callflow_d_total{n=\"0\"} 13336\n"), std::string::npos) << text;
}

}  // namespace
}  // namespace callflow
