// Cloud-shelf statistics: draws the charts from the JSON the page left in a
// <script type="application/json"> (json_script; CSP allows no inline scripts).
// [data-chart="shelf-hours"]: impressions, scans and orders per hour;
// [data-chart="shelf-sales"]: GMV (bars, CNY) and conversion (line, %) per hour, same rows:
//   {"hour": "11-10 10:00", "impressions": 40, "scans": 5, "orders": 2, "gmv": "120.00", "conversion": 40.0}
// [data-chart="shelf-screens"]: scans and orders per screen, rows {"screen", "store", "scans", "orders", "gmv"}.

const COLORS = { impressions: "#9aa5b1", scans: "#1f6feb", orders: "#c8102e", gmv: "#d4a017", conversion: "#2e8b57" };

function rowsOf(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return null;
  return JSON.parse(source.textContent);
}

function zoomFor(rows) {
  return rows.length > 48 ? [{ type: "slider", height: 18, bottom: 6, startValue: rows.length - 48 }] : [];
}

function mount(el, option) {
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption(option);
  el.dataset.drawn = String(option.series.length);
  new ResizeObserver(() => chart.resize()).observe(el);
}

function drawSales(el) {
  const rows = rowsOf(el);
  if (!rows) return;
  const label = (key, fallback) => el.dataset[`label${key}`] || fallback;
  mount(el, {
    color: [COLORS.gmv, COLORS.conversion],
    grid: { left: 8, right: 8, top: 36, bottom: 40, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis" },
    dataZoom: zoomFor(rows),
    xAxis: { type: "category", data: rows.map((row) => row.hour), axisTick: { alignWithLabel: true } },
    yAxis: [
      { type: "value", axisLabel: { formatter: "¥{value}" }, splitLine: { lineStyle: { color: "#eef1f5" } } },
      { type: "value", min: 0, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } },
    ],
    series: [
      {
        name: label("Gmv", "GMV"),
        type: "bar",
        barMaxWidth: 12,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => Number(row.gmv)),
      },
      {
        name: label("Conversion", "Conversion"),
        type: "line",
        yAxisIndex: 1,
        connectNulls: false,
        data: rows.map((row) => row.conversion),
      },
    ],
  });
}

function drawScreens(el) {
  const rows = rowsOf(el);
  if (!rows) return;
  const label = (key, fallback) => el.dataset[`label${key}`] || fallback;
  mount(el, {
    color: [COLORS.scans, COLORS.orders],
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    xAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
    yAxis: { type: "category", inverse: true, data: rows.map((row) => `${row.screen} · ${row.store}`) },
    series: [
      { name: label("Scans", "Scans"), type: "bar", barMaxWidth: 14, data: rows.map((row) => row.scans) },
      { name: label("Orders", "Orders"), type: "bar", barMaxWidth: 14, data: rows.map((row) => row.orders) },
    ],
  });
}

function drawHours(el) {
  const rows = rowsOf(el);
  if (!rows) return;
  const label = (key, fallback) => el.dataset[`label${key}`] || fallback;
  mount(el, {
    color: [COLORS.impressions, COLORS.scans, COLORS.orders],
    grid: { left: 8, right: 8, top: 36, bottom: 40, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis" },
    dataZoom: zoomFor(rows),
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
}

function init() {
  document.querySelectorAll('[data-chart="shelf-hours"]').forEach(drawHours);
  document.querySelectorAll('[data-chart="shelf-sales"]').forEach(drawSales);
  document.querySelectorAll('[data-chart="shelf-screens"]').forEach(drawScreens);
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
