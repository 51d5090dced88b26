// Charts of the assessment pages, drawn from the figures the page embeds (json_script).
// Tooltips are drawn on the canvas as text (renderMode "richText"): nothing from the data
// becomes HTML, and no style="…" meets the Content-Security-Policy.
(function () {
  "use strict";
  function data(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }
  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el || !window.echarts) return;
    var c = window.echarts.init(el);
    c.setOption(option);
    window.addEventListener("resize", function () { c.resize(); });
  }
  // A period's Chinese name on two lines under its point: 2026年 / 第一季度.
  function periodLabel(name) { return String(name).replace("年", "年\n"); }
  var run = data("run-chart");
  if (run) {
    chart("grade-chart", {
      tooltip: {renderMode: "richText"}, grid: {left: 36, right: 12, top: 12, bottom: 24},
      xAxis: {type: "category", data: run.grades}, yAxis: {type: "value", minInterval: 1},
      series: [{type: "bar", data: run.counts, itemStyle: {color: "#c0392b"}, label: {show: true, position: "top"}}]
    });
    chart("trend-chart", {
      // The legend above the plot: ECharts 6 puts it at the bottom, over the lowest line and
      // the axis labels (two lines each: 2026年 / 第一季度).
      tooltip: {trigger: "axis", renderMode: "richText"}, legend: {top: 0, data: ["平均分", "最高分", "最低分"]},
      grid: {left: 40, right: 12, top: 34, bottom: 40},
      xAxis: {type: "category", data: run.trend.map(function (r) { return r.period; }),
              axisLabel: {formatter: periodLabel}},
      yAxis: {type: "value", scale: true},
      series: [
        {name: "平均分", type: "line", data: run.trend.map(function (r) { return r.avg; })},
        {name: "最高分", type: "line", data: run.trend.map(function (r) { return r.high; }), lineStyle: {type: "dashed"}},
        {name: "最低分", type: "line", data: run.trend.map(function (r) { return r.low; }), lineStyle: {type: "dashed"}}
      ]
    });
  }
  var target = data("target-chart");
  if (target) {
    chart("history-chart", {
      tooltip: {trigger: "axis", renderMode: "richText"}, grid: {left: 40, right: 12, top: 12, bottom: 40},
      xAxis: {type: "category", data: target.periods, axisLabel: {formatter: periodLabel}}, yAxis: {type: "value", scale: true},
      series: [{type: "line", data: target.totals, itemStyle: {color: "#c0392b"}}]
    });
  }
})();
