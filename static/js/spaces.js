// The space page's utilisation chart: per hour of day, the share of open minutes in use.
// Rows come from json_script: [{"hour": "10:00", "rate": 42.5, "used": 51.0}, ...].

function drawUtilisation(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: ["#1f6feb"],
    grid: { left: 8, right: 8, top: 24, bottom: 8, containLabel: true },
    tooltip: { trigger: "axis", valueFormatter: (value) => `${value}%` },
    xAxis: { type: "category", data: rows.map((row) => row.hour), axisTick: { alignWithLabel: true } },
    yAxis: { type: "value", min: 0, max: 100, axisLabel: { formatter: "{value}%" } },
    series: [
      {
        name: el.dataset.labelRate || "In use (%)",
        type: "bar",
        barMaxWidth: 28,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.rate),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawAll() {
  document.querySelectorAll('[data-chart="space-utilisation"]').forEach(drawUtilisation);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", drawAll);
} else {
  drawAll();
}
