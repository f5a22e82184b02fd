// Coupon templates: on the form, show only the fields the chosen discount kind uses; on a
// template's page, draw [data-chart="coupon-hours"] from the JSON the page left in a
// <script type="application/json"> (json_script; the CSP allows no inline scripts).
// Rows: {"hour": "11-11 10:00", "claims": 12, "redemptions": 3}.

const COLORS = { claims: "#1f6feb", redemptions: "#c8102e" };
const USES = {
  amount_off: ["amount_off", "threshold"],
  percent_off: ["percent_off", "threshold"],
  threshold: ["amount_off", "threshold"],
};

function syncKind(form) {
  const kind = form.querySelector('[name="kind"]');
  if (!kind) return;
  const apply = () => {
    const used = USES[kind.value] || [];
    ["amount_off", "percent_off"].forEach((name) => {
      const block = form.querySelector(`[data-field="${name}"]`);
      if (block) block.hidden = !used.includes(name);
    });
  };
  kind.addEventListener("change", apply);
  apply();
}

function drawHours(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: [COLORS.claims, COLORS.redemptions],
    grid: { left: 8, right: 8, top: 36, bottom: 40, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis" },
    dataZoom: rows.length > 48 ? [{ type: "slider", height: 18, bottom: 6, startValue: rows.length - 48 }] : [],
    xAxis: { type: "category", data: rows.map((row) => row.hour), axisTick: { alignWithLabel: true } },
    yAxis: { type: "value", minInterval: 1, splitLine: { lineStyle: { color: "#eef1f5" } } },
    series: [
      {
        name: el.dataset.labelClaims || "Claims",
        type: "bar",
        barMaxWidth: 14,
        itemStyle: { borderRadius: [3, 3, 0, 0] },
        data: rows.map((row) => row.claims),
      },
      {
        name: el.dataset.labelRedemptions || "Redemptions",
        type: "line",
        showSymbol: false,
        areaStyle: { opacity: 0.12 },
        data: rows.map((row) => row.redemptions),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

function init() {
  document.querySelectorAll("[data-template-form]").forEach(syncKind);
  const draw = () => document.querySelectorAll('[data-chart="coupon-hours"]').forEach(drawHours);
  // echarts is a deferred classic script: it has run before a module's DOMContentLoaded
  draw();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", init);
} else {
  init();
}
