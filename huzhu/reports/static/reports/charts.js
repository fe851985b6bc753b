/* Draws the charts of a report page with Apache ECharts (served by the platform).
 *
 * The page puts the chart data in <script type="application/json" id="report-charts"> (Django's
 * json_script) and an empty <div class="chart" id="chart-KEY"> per chart; nothing inline runs,
 * so a Content-Security-Policy without 'unsafe-inline' allows it. SVG renderer: sharp on paper.
 * Each item: {id, title, kind: bar|line|pie|stacked, horizontal, percent, money, categories,
 * series: [{name, data}]}.
 */
(function () {
  "use strict";
  var source = document.getElementById("report-charts");
  if (!source || typeof echarts === "undefined") return;
  var specs = JSON.parse(source.textContent);
  var charts = [];
  var narrow = function () { return window.innerWidth < 600; };

  function fmt(spec, v) {
    if (v === null || v === undefined) return "—";
    if (spec.percent) return (v * 100).toFixed(2) + "%";
    if (spec.money) return v.toLocaleString("zh-CN", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    return v.toLocaleString("zh-CN");
  }

  function axisLabel(spec) {
    return {
      formatter: function (v) {
        if (spec.percent) return Math.round(v * 100) + "%";
        if (spec.money && Math.abs(v) >= 10000) return (v / 10000).toLocaleString("zh-CN") + "万";
        return v.toLocaleString("zh-CN");
      },
    };
  }

  function option(spec) {
    var small = narrow();
    var base = {
      animation: false,
      title: { text: spec.title, left: 0, textStyle: { fontSize: small ? 13 : 15 } },
      tooltip: {
        trigger: spec.kind === "pie" ? "item" : "axis",
        valueFormatter: function (v) { return fmt(spec, v); },
        confine: true,
      },
      legend: { top: small ? 30 : 34, left: 0, type: "scroll" },
      color: ["#b71c1c", "#1565c0", "#2e7d32", "#f9a825", "#6a1b9a", "#00838f"],
    };
    if (spec.kind === "pie") {
      base.legend = { bottom: 0, type: "scroll" };
      base.series = [{
        type: "pie",
        radius: small ? ["25%", "55%"] : ["30%", "65%"],
        center: ["50%", "52%"],
        label: { formatter: "{b}\n{d}%", fontSize: small ? 10 : 12 },
        data: spec.categories.map(function (c, i) { return { name: c, value: spec.series[0].data[i] }; }),
      }];
      return base;
    }
    var categoryAxis = {
      type: "category",
      data: spec.categories,
      axisLabel: { fontSize: small ? 10 : 12, hideOverlap: true, width: small ? 80 : 160, overflow: "truncate" },
    };
    var valueAxis = { type: "value", axisLabel: axisLabel(spec) };
    var horizontal = spec.horizontal;
    base.grid = { left: 8, right: 16, top: small ? 66 : 72, bottom: 8, containLabel: true };
    base.xAxis = horizontal ? valueAxis : categoryAxis;
    base.yAxis = horizontal ? Object.assign({ inverse: true }, categoryAxis) : valueAxis;
    base.series = spec.series.map(function (s) {
      return {
        name: s.name,
        type: spec.kind === "line" ? "line" : "bar",
        stack: spec.kind === "stacked" ? "total" : undefined,
        data: s.data,
        smooth: false,
        connectNulls: true,
      };
    });
    return base;
  }

  specs.forEach(function (spec) {
    var el = document.getElementById(spec.id);
    if (!el) return;
    if (spec.horizontal) {
      el.style.height = Math.max(260, 70 + 26 * spec.categories.length * Math.max(1, spec.series.length / 2)) + "px";
    }
    var chart = echarts.init(el, null, { renderer: "svg" });
    chart.setOption(option(spec));
    charts.push({ chart: chart, spec: spec });
  });

  var pending = null;
  function resizeAll() {
    charts.forEach(function (c) { c.chart.setOption(option(c.spec), true); c.chart.resize(); });
  }
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(resizeAll, 150);
  });
  // A4 portrait is about 180 mm of printable width: draw the charts for that width.
  window.addEventListener("beforeprint", function () {
    charts.forEach(function (c) { c.chart.resize({ width: 680 }); });
  });
  window.addEventListener("afterprint", function () {
    charts.forEach(function (c) { c.chart.resize(); });
  });
  document.documentElement.setAttribute("data-charts-drawn", String(charts.length));
})();
