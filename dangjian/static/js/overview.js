// The overview heatmap: units × months, drawn from the figures the page put in
// <script id="overview-data" type="application/json">. The table under the chart holds the
// same numbers, so the page says everything without this script. The chart needs a wide
// screen (twelve months of percentages side by side): on a phone the page hides it and the
// table is the view, so the chart is drawn only once the screen is wide enough.
(function () {
  "use strict";
  var box = document.getElementById("overview-chart");
  var source = document.getElementById("overview-data");
  if (!box || !source || typeof echarts === "undefined") {
    return;
  }
  var data = JSON.parse(source.textContent);
  var table = document.getElementById("overview-table");
  var wide = window.matchMedia("(min-width: 768px)");
  var chart = null;

  // The tooltip is drawn on the canvas as text (renderMode "richText"), never as HTML: a unit's
  // name is whatever its admin typed, and HTML built from it would run as markup. Text
  // needs no escaping, and the Content-Security-Policy (no style="…") is kept as well.
  function tip(p) {
    var d = p.data;
    var head = data.units[d.value[1]] + " · " + data.months[d.value[0]] + "\n";
    if (p.seriesIndex === 1) {
      return head + "周期尚未结束：已完成 " + d.met + " 项，待完成 " + d.due + " 项";
    }
    return head + "完成率 " + d.value[2] + "%\n已完成 " + d.met + " / 应完成 " + d.required +
      " 项\n应开未开 " + d.missing + " 项\n点击查看应开未开事项";
  }

  // Whole percents on the cells; never "100%" for a unit that missed something, nor "0%"
  // for one that did something (the tooltip and the table carry the exact figure).
  function short(v) {
    var r = Math.round(v);
    if (r === 100 && v < 100) { return 99; }
    if (r === 0 && v > 0) { return 1; }
    return r;
  }

  function draw() {
    chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { formatter: tip, confine: true, renderMode: "richText" },
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
      window.location.href = box.dataset.url + "&unit=" + encodeURIComponent(p.data.unit) +
        "&month=" + encodeURIComponent(p.data.month) + "#overview-lists";
    });
  }

  // The table's cells take the heatmap's colours, lightly, so that on a phone (where the
  // table is the view) the weak months still stand out. The scale is the chart's own.
  var SCALE = [[194, 53, 49], [242, 193, 78], [46, 156, 88]];
  function tint(rate) {
    var x = Math.max(0, Math.min(1, rate)) * 2, i = Math.min(1, Math.floor(x)), f = x - i;
    var rgb = SCALE[i].map(function (c, k) { return Math.round(c + (SCALE[i + 1][k] - c) * f); });
    return "rgba(" + rgb.join(",") + ",0.3)";
  }
  if (table) {
    Array.prototype.forEach.call(table.querySelectorAll("td[data-rate]"), function (td) {
      var rate = parseFloat(td.getAttribute("data-rate"));
      if (!isNaN(rate)) { td.style.setProperty("--bs-table-bg", tint(rate)); }
    });
  }

  // Wide screen: the chart, with the table one click away. Narrow screen: the table, open.
  function layout() {
    if (wide.matches) {
      if (!chart) {
        draw();
      } else {
        chart.resize();
      }
      if (table) { table.open = false; }
    } else if (table) {
      table.open = true;
    }
  }

  layout();
  wide.addEventListener("change", layout);
  window.addEventListener("resize", function () {
    if (chart && wide.matches) { chart.resize(); }
  });
})();
