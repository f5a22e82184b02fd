// Cloud-shelf statistics: draws [data-chart="shelf-hours"] from the JSON the page left in a
// <script type="application/json"> (json_script; CSP allows no inline scripts).
// Rows: {"hour": "11-10 10:00", "impressions": 40, "scans": 5, "orders": 2, "gmv": "120.00"}.

const COLORS = { impressions: "#9aa5b1", scans: "#1f6feb", orders: "#c8102e" };

function drawHours(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  const label = (key, fallback) => el.dataset[`label${key}`] || fallback;
  chart.setOption({
    color: [COLORS.impressions, COLORS.scans, COLORS.orders],
    grid: { left: 8, right: 8, top: 36, bottom: 40, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis" },
    dataZoom: rows.length > 48 ? [{ type: "slider", height: 18, bottom: 6, startValue: rows.length - 48 }] : [],
    xAxis: { type: "category", data: rows.map((row) => row.hour), axisTick: { alignWithLabel: true } },
    yAxis: [
      { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
      { type: "value", minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      {
        name: label("Impressions", "Impressions"),
        type: "line",
        showSymbol: false,
        areaStyle: { opacity: 0.12 },
        data: rows.map((row) => row.impressions),
      },
      {
        name: label("Scans", "Scans"),
        type: "bar",
        yAxisIndex: 1,
        barMaxWidth: 12,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.scans),
      },
      {
        name: label("Orders", "Orders"),
        type: "bar",
        yAxisIndex: 1,
        barMaxWidth: 12,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.orders),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function init() {
  document.querySelectorAll('[data-chart="shelf-hours"]').forEach(drawHours);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
