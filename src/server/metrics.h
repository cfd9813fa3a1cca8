// Metrics: a small thread-safe registry of counters and latency histograms, rendered in the
// Prometheus text exposition format (version 0.0.4) for `GET /metrics`.
//
// Register at start-up, keep the returned handle, and count through it: Counter::inc() and
// Histogram::observe() are lock-free atomics, safe from any thread. A series with a label value
// known only at run time (an element type) may be looked up by counter() on first use; that
// takes the registry's lock, so keep the handle when the set of values is small. render() locks
// too. Handles stay valid as long as the Metrics they came from.
//
// Families render in registration order, series within a family sorted by label values, so the
// output is stable (and testable as exact text).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace callflow {

// Label names and values of one series: {{"code", "2xx"}}.
using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  Counter() = default;  // counts nowhere until assigned from Metrics::counter()

  void inc(std::uint64_t n = 1) const {
    if (cell_) cell_->fetch_add(n, std::memory_order_relaxed);
  }
  std::uint64_t value() const { return cell_ ? cell_->load(std::memory_order_relaxed) : 0; }

 private:
  friend class Metrics;
  explicit Counter(std::atomic<std::uint64_t>* cell) : cell_(cell) {}
  std::atomic<std::uint64_t>* cell_ = nullptr;
};

class Histogram {
 public:
  struct Cells;  // defined in metrics.cpp

  Histogram() = default;  // observes nothing until assigned from Metrics::histogram()

  // Counts `value` (seconds, for latencies) in the first bucket whose bound is >= it. NaN is
  // ignored.
  void observe(double value) const;

 private:
  friend class Metrics;
  explicit Histogram(Cells* cells) : cells_(cells) {}
  Cells* cells_ = nullptr;
};

class Metrics {
 public:
  // Upper bounds in seconds; +Inf is implied.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                                             0.25,  0.5,   1,    2.5,   5,    10};

  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // The series `name{labels}` of counter family `name`, created (with `help`) on first use.
  // Misuse is a start-up bug, reported on stderr; it gets a handle that counts but is never
  // rendered: an invalid metric or label name, a family already registered as a histogram, or
  // label names that differ from the family's first series.
  Counter counter(std::string_view name, std::string_view help, const MetricLabels& labels = {});

  // The same for histograms; `buckets` are ascending upper bounds (the family's first series
  // decides them). Renders name_bucket{le=...}, name_sum and name_count.
  Histogram histogram(std::string_view name, std::string_view help, const MetricLabels& labels = {},
                      const std::vector<double>& buckets = {kLatencyBuckets.begin(),
                                                            kLatencyBuckets.end()});

  // Every family, as Prometheus text exposition (Content-Type: text/plain; version=0.0.4).
  std::string render() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace callflow
