// The unit board's bar chart, drawn from the figures the page put in a JSON script element. The
// table below the chart shows the same numbers, so the page says everything without this script.
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var source = document.getElementById("items-board-data");
  var box = document.getElementById("items-board-chart");
  if (!source || !box) {
    return;
  }
  var data = JSON.parse(source.textContent);
  var COLORS = { open: "#f2c14e", overdue: "#c23531", on_time: "#2e8b57" };
  var chart = echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    // Tooltips are text on the canvas (renderMode "richText"), never HTML built from the data.
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0 },
    grid: { top: 32, bottom: 24, left: 8, right: 16, containLabel: true },
    xAxis: { type: "category", data: data.labels, axisLabel: { interval: 0, rotate: data.labels.length > 4 ? 30 : 0 } },
    yAxis: { type: "value", minInterval: 1, name: "事项（项）" },
    series: data.series.map(function (s) {
      return { type: "bar", name: s.name, data: s.data, itemStyle: { color: COLORS[s.key] || "#999" } };
    })
  });
  window.addEventListener("resize", function () { chart.resize(); });
}());
