// The formalism summary chart: the units with the most signals, one stacked bar per unit by
// kind, drawn from <script id="formalism-data" type="application/json">. The table below holds
// the same numbers. Names are drawn as text (richText tooltips, no HTML built from data).
(function () {
  "use strict";
  var box = document.getElementById("formalism-chart");
  var source = document.getElementById("formalism-data");
  if (!box || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(box, null, { renderer: "canvas" });
  var colors = ["#c23531", "#f2a93b", "#6e7074", "#4a7ebb"];

  chart.setOption({
    animation: false,
    color: colors,
    legend: { top: 0, data: data.kinds },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText", confine: true },
    grid: { top: 36, bottom: 8, left: 8, right: 24, containLabel: true },
    xAxis: { type: "value", minInterval: 1 },
    yAxis: {
      type: "category", data: data.units, inverse: true,
      axisLabel: { width: 240, overflow: "truncate" }
    },
    series: data.kinds.map(function (name, i) {
      return { name: name, type: "bar", stack: "all", data: data.series[i], barMaxWidth: 18 };
    })
  });

  // A bar leads to the unit's sub-units (or its signals), as the table's link does.
  chart.on("click", function (p) {
    var i = p.dataIndex;
    if (typeof i !== "number" || !data.codes[i]) {
      return;
    }
    window.location.href = box.dataset.base + encodeURIComponent(data.codes[i]) + (data.own[i] ? "&own=1" : "");
  });
  window.addEventListener("resize", function () { chart.resize(); });
})();
