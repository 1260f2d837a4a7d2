#include "svg_chart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <functional>

namespace fetchpipe::cli {
namespace {

using simulate::Bucket;
using simulate::ConfigResult;

constexpr double kWidth = 960;
constexpr double kPanelHeight = 260;
constexpr double kLeft = 70, kRight = 20, kTop = 80, kGap = 60, kBottom = 50;
constexpr std::array<std::string_view, 5> kColours{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};

std::string xml_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

// A round step for about `target` ticks up to `max`: 1, 2 or 5 times a power of ten.
double nice_step(double max, int target) {
  const double raw = std::max(max / target, 1e-9);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  for (const double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * magnitude >= raw) return m * magnitude;
  }
  return 10 * magnitude;
}

struct Panel {
  std::string title;
  std::function<std::uint64_t(const Bucket&)> value;
};

class Chart {
 public:
  Chart(const simulate::SimulationSettings& settings, const std::vector<ConfigResult>& rows)
      : settings_(settings), rows_(rows), seconds_(std::chrono::duration<double>(settings.duration).count()) {}

  std::string draw() {
    const double height = kTop + 2 * kPanelHeight + kGap + kBottom;
    out_ += fmt::format(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{0}\" height=\"{1}\" viewBox=\"0 0 {0} {1}\" "
        "font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        kWidth, height);
    out_ += fmt::format(
        "<text x=\"{}\" y=\"24\" font-size=\"16\" font-weight=\"bold\">fetchpipe simulate: {}, {} clients, {:g} "
        "fetches/s, seed {}</text>\n",
        kLeft, to_string(settings_.scenario), settings_.clients, settings_.rate, settings_.seed);
    legend();
    panel(Panel{"Attempts the server saw, per second", [](const Bucket& b) { return b.attempts; }}, kTop);
    panel(Panel{"Successful fetches, per second", [](const Bucket& b) { return b.successes; }},
          kTop + kPanelHeight + kGap);
    out_ += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">virtual time (s)</text>\n",
                        kLeft + plot_width() / 2, height - 12);
    out_ += "</svg>\n";
    return std::move(out_);
  }

 private:
  static double plot_width() { return kWidth - kLeft - kRight; }

  void legend() {
    double x = kLeft;
    const auto item = [&](std::string_view colour, std::string_view dash, const std::string& label) {
      out_ += fmt::format(
          "<line x1=\"{0}\" y1=\"46\" x2=\"{1}\" y2=\"46\" stroke=\"{2}\" stroke-width=\"2.5\"{3}/>"
          "<text x=\"{4}\" y=\"50\">{5}</text>\n",
          x, x + 24, colour, dash, x + 30, xml_escape(label));
      x += 40 + 7.0 * static_cast<double>(label.size());
    };
    item("#888888", " stroke-dasharray=\"6 4\"", "offered");
    for (std::size_t i = 0; i < rows_.size(); ++i) item(kColours[i % kColours.size()], "", rows_[i].config);
    const auto plan = simulate::plan_scenario(settings_.scenario, settings_.rate, settings_.duration);
    if (plan.fault_from) {
      out_ += fmt::format("<rect x=\"{}\" y=\"38\" width=\"24\" height=\"14\" fill=\"#f4cccc\"/>"
                          "<text x=\"{}\" y=\"50\">{}</text>\n",
                          x, x + 30, settings_.scenario == simulate::Scenario::outage ? "outage" : "spike");
    }
  }

  void panel(const Panel& p, double top) {
    double max = 1;
    for (const auto& r : rows_) {
      for (const auto& b : r.series) max = std::max({max, static_cast<double>(p.value(b)), static_cast<double>(b.offered)});
    }
    max *= 10;  // per 100 ms -> per second
    const double step = nice_step(max, 5);
    const double y_max = std::ceil(max / step) * step;
    const auto x_of = [&](double t) { return kLeft + plot_width() * t / seconds_; };
    const auto y_of = [&](double v) { return top + kPanelHeight - kPanelHeight * v / y_max; };

    const auto plan = simulate::plan_scenario(settings_.scenario, settings_.rate, settings_.duration);
    if (plan.fault_from && plan.fault_until) {
      const double from = std::chrono::duration<double>(*plan.fault_from).count();
      const double until = std::chrono::duration<double>(*plan.fault_until).count();
      out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#f4cccc\"/>\n", x_of(from), top,
                          x_of(until) - x_of(from), kPanelHeight);
    }
    for (double v = 0; v <= y_max + step / 2; v += step) {
      out_ += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{2}\" y2=\"{1}\" stroke=\"#dddddd\"/><text x=\"{3}\" y=\"{4}\" "
          "text-anchor=\"end\">{5:g}</text>\n",
          kLeft, y_of(v), kLeft + plot_width(), kLeft - 6, y_of(v) + 4, v);
    }
    const double t_step = nice_step(seconds_, 10);
    for (double t = 0; t <= seconds_ + t_step / 2; t += t_step) {
      out_ += fmt::format(
          "<line x1=\"{0}\" y1=\"{1}\" x2=\"{0}\" y2=\"{2}\" stroke=\"#999999\"/><text x=\"{0}\" y=\"{3}\" "
          "text-anchor=\"middle\">{4:g}</text>\n",
          x_of(t), top + kPanelHeight, top + kPanelHeight + 5, top + kPanelHeight + 18, t);
    }
    out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#333333\"/>\n", kLeft,
                        top, plot_width(), kPanelHeight);
    out_ += fmt::format("<text x=\"{}\" y=\"{}\" font-weight=\"bold\">{}</text>\n", kLeft, top - 8, xml_escape(p.title));
    const auto line = [&](const std::vector<Bucket>& series, const auto& value, std::string_view colour,
                          std::string_view dash) {
      out_ += fmt::format("<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.5\"{} points=\"", colour, dash);
      const double slice = std::chrono::duration<double>(simulate::kBucket).count();
      for (std::size_t i = 0; i < series.size(); ++i) {
        out_ += fmt::format("{:.1f},{:.1f} ", x_of((static_cast<double>(i) + 0.5) * slice),
                            y_of(10.0 * static_cast<double>(value(series[i]))));
      }
      out_ += "\"/>\n";
    };
    for (std::size_t i = 0; i < rows_.size(); ++i) line(rows_[i].series, p.value, kColours[i % kColours.size()], "");
    if (!rows_.empty()) {
      line(rows_.front().series, [](const Bucket& b) { return b.offered; }, "#888888", " stroke-dasharray=\"6 4\"");
    }
  }

  const simulate::SimulationSettings& settings_;
  const std::vector<ConfigResult>& rows_;
  const double seconds_;
  std::string out_;
};

}  // namespace

std::string simulate_svg(const simulate::SimulationSettings& settings, const std::vector<ConfigResult>& rows) {
  return Chart(settings, rows).draw();
}

}  // namespace fetchpipe::cli
