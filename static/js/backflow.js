// Data-backflow pages: draws [data-chart="backflow-trend"] from the JSON the page left in a
// <script type="application/json"> (json_script; CSP allows no inline scripts).
// Data: {"days": ["2026-11-01", ...], "series": [{"partner": 3, "name": "Mirror Co", "data": [97.5, null, ...]}]}
// A series with partner null is the brand's in-house devices.

function drawTrend(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const trend = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const rewardAt = Number(el.dataset.rewardAt);
  const penaltyBelow = Number(el.dataset.penaltyBelow);
  const marks = [];
  if (!Number.isNaN(rewardAt)) marks.push({ yAxis: rewardAt, name: el.dataset.labelReward || "Reward", lineStyle: { color: "#1e6b35" } });
  if (!Number.isNaN(penaltyBelow)) marks.push({ yAxis: penaltyBelow, name: el.dataset.labelPenalty || "Penalty", lineStyle: { color: "#a4161a" } });
  const series = trend.series.map((s, i) => ({
    name: s.partner === null ? el.dataset.labelInHouse || "In-house" : s.name,
    type: "line",
    connectNulls: false,
    showSymbol: trend.days.length <= 7,
    data: s.data,
    markLine: i === 0 && marks.length ? { symbol: "none", silent: true, label: { formatter: "{b}", position: "insideEndTop" }, data: marks } : undefined,
  }));
  chart.setOption({
    grid: { left: 8, right: 12, top: 40, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, type: "scroll" },
    tooltip: { trigger: "axis", valueFormatter: (v) => (typeof v === "number" ? v.toFixed(1) : "—") },
    xAxis: { type: "category", data: trend.days.map((d) => d.slice(5)) },
    yAxis: { type: "value", min: 0, max: 100 },
    series,
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function init() {
  document.querySelectorAll('[data-chart="backflow-trend"]').forEach(drawTrend);
  document.querySelectorAll("input[data-select-on-focus]").forEach((input) => {
    input.addEventListener("focus", () => input.select());
  });
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
