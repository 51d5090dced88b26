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
  // The longest bar, to tell whether a segment has room for its number: on a phone a segment
  // of one or two votes is a few pixels wide, and its number would sit on its neighbour's.
  var most = 1;
  data.reports.forEach(function (_, i) {
    var sum = 0;
    data.series.forEach(function (s) { sum += s.data[i] || 0; });
    most = Math.max(most, sum);
  });
  function labelWidth() { return Math.min(220, Math.round(box.clientWidth * 0.4)); }
  function fits(value) {
    var plot = box.clientWidth - labelWidth() - 48;
    return value * plot / most >= 8 * String(value).length + 6;
  }
  function option() {
    return {
      yAxis: { type: "category", data: data.reports, inverse: true, axisLabel: { width: labelWidth(), overflow: "truncate" } }
    };
  }
  chart.setOption({
    animation: false,
    color: colors,
    // The tooltip is text on the canvas, never HTML built from report names.
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, confine: true, renderMode: "richText" },
    legend: { top: 0 },
    grid: { top: 32, bottom: 24, left: 8, right: 16, containLabel: true },
    xAxis: { type: "value", minInterval: 1, name: "票数", nameLocation: "middle", nameGap: 22 },
    yAxis: option().yAxis,
    series: data.series.map(function (s) {
      return { name: s.name, type: "bar", stack: "votes", data: s.data, barMaxWidth: 22,
               label: { show: true, formatter: function (p) { return p.value && fits(p.value) ? String(p.value) : ""; } } };
    })
  });
  window.addEventListener("resize", function () {
    chart.setOption(option());
    chart.resize();
  });
})();
