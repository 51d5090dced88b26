// Star-rating charts, drawn from the figures the page put in a JSON script element. The page
// shows the same numbers as text, so it says everything without this script.
(function () {
  "use strict";
  if (typeof echarts === "undefined") {
    return;
  }
  var COLORS = {
    model: "#c23531", star5: "#e67e22", star4: "#f2c14e", star3: "#5bc0de", star2: "#6fa8dc", star1: "#9fc5e8",
    lagging: "#555555", unrated: "#cccccc"
  };

  // Tooltips are text on the canvas (renderMode "richText"), never HTML built from the data.

  function draw(id, option) {
    var box = document.getElementById(id);
    if (!box) {
      return;
    }
    var chart = echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
    return chart;
  }

  var source = document.getElementById("ratings-chart");
  if (source) {
    var data = JSON.parse(source.textContent);
    var colors = data.codes.map(function (c) { return COLORS[c] || "#999"; });
    var bar = draw("ratings-bar", {
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { top: 32, bottom: 24, left: 8, right: 16, containLabel: true },
      xAxis: { type: "category", data: data.labels },
      yAxis: { type: "value", minInterval: 1, name: "党支部（个）" },
      series: [{
        type: "bar", name: "党支部", label: { show: true, position: "top" },
        data: data.counts.map(function (n, i) { return { value: n, itemStyle: { color: colors[i] }, code: data.codes[i] }; })
      }]
    });
    var pie = draw("ratings-pie", {
      animation: false,
      tooltip: { trigger: "item", formatter: "{b}：{c} 个（{d}%）", renderMode: "richText" },
      // Labels at the box's edges, joined to their sectors: on a phone the space beside a
      // centred ring is too narrow for labels placed next to it.
      series: [{
        type: "pie", radius: ["30%", "62%"],
        label: { formatter: "{b} {c}", alignTo: "edge", edgeDistance: 8, minMargin: 4 },
        labelLine: { length: 10, length2: 0, maxSurfaceAngle: 80 },
        data: data.counts.map(function (n, i) {
          return { name: data.labels[i], value: n, itemStyle: { color: colors[i] }, code: data.codes[i] };
        }).filter(function (d) { return d.value > 0; })
      }]
    });
    [bar, pie].forEach(function (chart) {
      if (!chart) {
        return;
      }
      chart.on("click", function (p) {
        if (p.data && p.data.code) {
          var params = new URLSearchParams(window.location.search);
          params.set("level", p.data.code);
          params.delete("page");
          window.location.search = params.toString() + "#ratings-table";
        }
      });
    });
  }

  var history = document.getElementById("ratings-history");
  if (history) {
    var h = JSON.parse(history.textContent);
    draw("ratings-history-chart", {
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText", formatter: function (ps) {
        var p = ps[0];
        return p.axisValue + " 年：" + (p.value ? h.labels[p.value - 1] : "未评定");
      } },
      grid: { top: 16, bottom: 24, left: 8, right: 16, containLabel: true },
      xAxis: { type: "category", data: h.years },
      yAxis: { type: "value", min: 1, max: h.labels.length, interval: 1,
               axisLabel: { formatter: function (v) { return h.labels[v - 1] || ""; } } },
      series: [{ type: "line", step: "middle", connectNulls: false, symbolSize: 10, data: h.ranks,
                 label: { show: true, formatter: function (p) { return h.labels[p.value - 1]; } } }]
    });
  }
})();
