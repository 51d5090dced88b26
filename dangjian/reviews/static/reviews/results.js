// The results chart: one stacked bar per report, one colour per grade, drawn from the counts the
// page put in <script id="results-data" type="application/json">. The table under the chart holds
// the same numbers, so the page says everything without this script.
(function () {
  "use strict";
  var box = document.getElementById("results-chart");
  var source = document.getElementById("results-data");
  if (!box || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var colors = ["#2e9c58", "#8cc152", "#f2c14e", "#c23531"];
  var chart = echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    color: colors,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true },
    legend: { top: 0 },
    grid: { top: 32, bottom: 8, left: 8, right: 24, containLabel: true },
    xAxis: { type: "value", minInterval: 1, name: "票数" },
    yAxis: { type: "category", data: data.reports, inverse: true, axisLabel: { width: 220, overflow: "truncate" } },
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "votes", data: s.data, barMaxWidth: 22,
               label: { show: true, formatter: function (p) { return p.value || ""; } } };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
