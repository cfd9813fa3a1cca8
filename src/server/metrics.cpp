#include "server/metrics.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <mutex>

namespace callflow {

struct Histogram::Cells {
  explicit Cells(std::vector<double> upper_bounds)
      : bounds(std::move(upper_bounds)),
        buckets(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

  std::vector<double> bounds;                             // ascending, +Inf implied
  std::unique_ptr<std::atomic<std::uint64_t>[]> buckets;  // bounds.size() + 1, not cumulative
  std::atomic<double> sum{0};
};

void Histogram::observe(double value) const {
  if (!cells_ || std::isnan(value)) return;
  auto bound = std::lower_bound(cells_->bounds.begin(), cells_->bounds.end(), value);
  cells_->buckets[static_cast<std::size_t>(bound - cells_->bounds.begin())].fetch_add(
      1, std::memory_order_relaxed);
  cells_->sum.fetch_add(value, std::memory_order_relaxed);
}

namespace {

enum class Kind { kCounter, kHistogram };

struct Series {
  std::atomic<std::uint64_t> count{0};      // counters
  std::unique_ptr<Histogram::Cells> cells;  // histograms
};

struct Family {
  std::string name;
  std::string help;
  Kind kind = Kind::kCounter;
  std::vector<std::string> label_names;
  std::vector<double> bounds;                                          // histograms
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series;  // by label values
};

bool validName(std::string_view name, bool colon_allowed) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (colon_allowed && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
void appendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

void appendNumber(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);  // shortest round-trip
    out.append(buffer, end);
  }
}

// `{a="x",b="y"}` (with `le` last for a bucket); nothing when there are no labels at all.
void appendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view le = {}) {
  if (names.empty() && le.empty()) return;
  out += '{';
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    appendEscaped(out, values[i], true);
    out += '"';
  }
  if (!le.empty()) {
    if (!names.empty()) out += ',';
    out += "le=\"";
    out += le;
    out += '"';
  }
  out += '}';
}

void renderSeries(std::string& out, const Family& family, const std::vector<std::string>& values,
                  const Series& series) {
  if (family.kind == Kind::kCounter) {
    out += family.name;
    appendLabels(out, family.label_names, values);
    out += ' ';
    out += std::to_string(series.count.load(std::memory_order_relaxed));
    out += '\n';
    return;
  }
  const Histogram::Cells& cells = *series.cells;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i <= cells.bounds.size(); ++i) {
    cumulative += cells.buckets[i].load(std::memory_order_relaxed);
    std::string le;
    appendNumber(le, i < cells.bounds.size() ? cells.bounds[i] : INFINITY);
    out += family.name;
    out += "_bucket";
    appendLabels(out, family.label_names, values, le);
    out += ' ';
    out += std::to_string(cumulative);
    out += '\n';
  }
  out += family.name;
  out += "_sum";
  appendLabels(out, family.label_names, values);
  out += ' ';
  appendNumber(out, cells.sum.load(std::memory_order_relaxed));
  out += '\n';
  // The count is the +Inf bucket, so the two agree even while observations race the render.
  out += family.name;
  out += "_count";
  appendLabels(out, family.label_names, values);
  out += ' ';
  out += std::to_string(cumulative);
  out += '\n';
}

}  // namespace

struct Metrics::Impl {
  mutable std::mutex mutex;
  std::vector<std::unique_ptr<Family>> families;  // in registration order
  std::vector<std::unique_ptr<Series>> detached;  // handles for misuse: counted, not rendered

  // The series for (name, kind, labels), created on first use; nullptr on misuse. Locked.
  Series* find(std::string_view name, std::string_view help, Kind kind, const MetricLabels& labels,
               const std::vector<double>& bounds) {
    if (!validName(name, true)) return nullptr;
    std::vector<std::string> names;
    std::vector<std::string> values;
    for (const auto& [label, value] : labels) {
      if (!validName(label, false) || label.starts_with("__") ||
          (kind == Kind::kHistogram && label == "le")) {
        return nullptr;
      }
      names.push_back(label);
      values.push_back(value);
    }
    auto it = std::find_if(families.begin(), families.end(),
                           [&](const auto& family) { return family->name == name; });
    Family* family = it == families.end() ? nullptr : it->get();
    if (!family) {
      if (kind == Kind::kHistogram) {
        if (!std::is_sorted(bounds.begin(), bounds.end()) ||
            std::adjacent_find(bounds.begin(), bounds.end()) != bounds.end() ||
            std::any_of(bounds.begin(), bounds.end(), [](double b) { return !std::isfinite(b); })) {
          return nullptr;
        }
      }
      families.push_back(std::make_unique<Family>(Family{.name = std::string(name),
                                                         .help = std::string(help),
                                                         .kind = kind,
                                                         .label_names = names,
                                                         .bounds = bounds}));
      family = families.back().get();
    } else if (family->kind != kind || family->label_names != names) {
      return nullptr;
    }
    std::unique_ptr<Series>& series = family->series[values];
    if (!series) {
      series = std::make_unique<Series>();
      if (kind == Kind::kHistogram)
        series->cells = std::make_unique<Histogram::Cells>(family->bounds);
    }
    return series.get();
  }

  // Misuse is a start-up bug: say so once per call, and hand out a series nobody renders.
  Series* detach(std::string_view name, Kind kind) {
    std::fprintf(stderr,
                 "callflow: metric \"%.*s\": invalid name, labels or buckets, or already "
                 "registered with another type or label names; not exported\n",
                 static_cast<int>(name.size()), name.data());
    detached.push_back(std::make_unique<Series>());
    if (kind == Kind::kHistogram) {
      detached.back()->cells = std::make_unique<Histogram::Cells>(std::vector<double>{});
    }
    return detached.back().get();
  }
};

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

Counter Metrics::counter(std::string_view name, std::string_view help, const MetricLabels& labels) {
  std::lock_guard lock(impl_->mutex);
  Series* series = impl_->find(name, help, Kind::kCounter, labels, {});
  if (!series) series = impl_->detach(name, Kind::kCounter);
  return Counter(&series->count);
}

Histogram Metrics::histogram(std::string_view name, std::string_view help,
                             const MetricLabels& labels, const std::vector<double>& buckets) {
  std::lock_guard lock(impl_->mutex);
  Series* series = impl_->find(name, help, Kind::kHistogram, labels, buckets);
  if (!series) series = impl_->detach(name, Kind::kHistogram);
  return Histogram(series->cells.get());
}

std::string Metrics::render() const {
  std::lock_guard lock(impl_->mutex);
  std::string out;
  for (const auto& family : impl_->families) {
    out += "# HELP ";
    out += family->name;
    out += ' ';
    appendEscaped(out, family->help, false);
    out += "\n# TYPE ";
    out += family->name;
    out += family->kind == Kind::kCounter ? " counter\n" : " histogram\n";
    for (const auto& [values, series] : family->series) renderSeries(out, *family, values, *series);
  }
  return out;
}

}  // namespace callflow
