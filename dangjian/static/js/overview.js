// The overview heatmap: units × months, drawn from the figures the page put in
// <script id="overview-data" type="application/json">. The table under the chart holds the
// same numbers, so the page says everything without this script.
(function () {
  "use strict";
  var box = document.getElementById("overview-chart");
  var source = document.getElementById("overview-data");
  if (!box || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var chart = echarts.init(box, null, { renderer: "canvas" });

  function tip(p) {
    var d = p.data;
    var head = data.units[d.value[1]] + " · " + data.months[d.value[0]] + "<br>";
    if (p.seriesIndex === 1) {
      return head + "周期尚未结束：已完成 " + d.met + " 项，待完成 " + d.due + " 项";
    }
    return head + "完成率 " + d.value[2] + "%<br>已完成 " + d.met + " / 应完成 " + d.required +
      " 项<br>应开未开 " + d.missing + " 项<br><span style=\"color:#888\">点击查看应开未开事项</span>";
  }

  // Whole percents on the cells; never "100%" for a unit that missed something, nor "0%"
  // for one that did something (the tooltip and the table carry the exact figure).
  function short(v) {
    var r = Math.round(v);
    if (r === 100 && v < 100) { return 99; }
    if (r === 0 && v > 0) { return 1; }
    return r;
  }

  chart.setOption({
    animation: false,
    tooltip: { formatter: tip, confine: true },
    grid: { top: 56, bottom: 12, left: 8, right: 16, containLabel: true },
    xAxis: { type: "category", data: data.months, position: "top", splitArea: { show: true } },
    yAxis: {
      type: "category", data: data.units, inverse: true, splitArea: { show: true },
      axisLabel: { width: 220, overflow: "truncate" }
    },
    visualMap: {
      seriesIndex: 0, min: 0, max: 100, calculable: false, orient: "horizontal", left: "center", top: 0,
      itemHeight: 160, text: ["100%", "0%"], inRange: { color: ["#c23531", "#f2c14e", "#2e9c58"] }
    },
    series: [
      {
        name: "完成率", type: "heatmap", data: data.cells,
        label: { show: true, fontSize: 11, formatter: function (p) { return short(p.value[2]) + "%"; } },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
        emphasis: { itemStyle: { borderColor: "#333", borderWidth: 1 } }
      },
      {
        name: "进行中", type: "heatmap", data: data.running,
        label: { show: true, fontSize: 11, color: "#666", formatter: "进行中" },
        itemStyle: { color: "#e9ecef", borderColor: "#fff", borderWidth: 1 }
      }
    ]
  });

  chart.on("click", function (p) {
    if (p.seriesIndex !== 0 || !p.data) {
      return;
    }
    window.location.href = box.dataset.url + "&unit=" + p.data.unit + "&month=" + p.data.month + "#overview-lists";
  });
  window.addEventListener("resize", function () { chart.resize(); });

  // The chart is drawn: the table stays one click away instead of open below it.
  var table = document.getElementById("overview-table");
  if (table) {
    table.open = false;
  }
})();
