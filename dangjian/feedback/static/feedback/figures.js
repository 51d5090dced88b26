// 三访三评 chart, drawn from the figures the page put in a JSON script element. The page shows
// the same numbers in its table, so it says everything without this script.
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var source = document.getElementById("feedback-figures");
  var box = document.getElementById("feedback-chart");
  if (!source || !box) {
    return;
  }
  var data = JSON.parse(source.textContent);
  if (!data) {
    return;
  }
  var chart = echarts.init(box, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    // Tooltips are text on the canvas (renderMode "richText"), never HTML built from the data.
    tooltip: { trigger: "axis", renderMode: "richText" },
    legend: { top: 0, type: "scroll" },
    grid: { top: 36, bottom: 24, left: 8, right: 16, containLabel: true },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "bar", name: "党员参与走访人次", data: data.participations, itemStyle: { color: "#c23531" } },
      { type: "bar", name: "走访户数", data: data.households, itemStyle: { color: "#f2c14e" } },
      { type: "line", name: "收集问题", data: data.raised, itemStyle: { color: "#555555" } },
      { type: "line", name: "解决问题", data: data.solved, itemStyle: { color: "#5bc0de" } }
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
