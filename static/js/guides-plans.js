// The call plan's "done per day" chart (ECharts), drawn from the JSON the page left in a
// <script type="application/json"> (json_script): no inline scripts, CSP-friendly.
// Rows look like {"day": "2026-11-01", "done": 12}.

function drawDone(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts || el.dataset.drawn) return;
  el.dataset.drawn = "1";
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: ["#1f6feb"],
    grid: { left: 8, right: 8, top: 16, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: rows.map((row) => row.day.slice(5)), axisTick: { alignWithLabel: true } },
    yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
    series: [
      {
        name: el.dataset.labelDone || "Done",
        type: "bar",
        barMaxWidth: 18,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.done),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawAll() {
  document.querySelectorAll('[data-chart="plan-done"]').forEach(drawDone);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawAll);
} else {
  drawAll();
}
window.addEventListener("load", drawAll);
