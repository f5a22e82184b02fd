// The incident desk, live: ws/incidents/ pushes {type: "incident", event, incident, status};
// the desk fetches that incident's row (scoped by the server, with the page's filters: 204
// when it does not match) and puts it on top (new) or in place (updated). Reconnects with
// back-off. Also draws the time-to-resolve chart (ECharts, vendored) from json_script data.

function setState(label, text, live) {
  if (!label) return;
  label.textContent = text;
  label.classList.toggle("is-live", live);
}

async function refreshRow(desk, id) {
  const base = desk.dataset.rowBase;
  const query = desk.dataset.query ? `?${desk.dataset.query}` : "";
  const response = await fetch(`${base}${id}/row/${query}`, {
    credentials: "same-origin",
    headers: { "X-Requested-With": "fetch" },
  });
  const rows = desk.querySelector("[data-incident-rows]");
  const existing = rows.querySelector(`tr[data-incident-id="${id}"]`);
  if (response.status === 204) {
    if (existing) existing.remove();
    return;
  }
  if (!response.ok) return;
  const holder = document.createElement("tbody");
  holder.innerHTML = (await response.text()).trim();
  const row = holder.querySelector("tr");
  if (!row) return;
  row.classList.add("incident-flash");
  if (existing) {
    existing.replaceWith(row);
  } else {
    rows.querySelector("tr[data-empty]")?.remove();
    rows.prepend(row);
  }
}

function connect(desk, label, attempt = 0) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}${desk.dataset.ws}`);
  socket.addEventListener("open", () => {
    attempt = 0;
    setState(label, label?.dataset.labelLive || "Live", true);
  });
  socket.addEventListener("message", (message) => {
    let data;
    try {
      data = JSON.parse(message.data);
    } catch {
      return;
    }
    if (data.type === "notifications") { // the user's own: htmx fetches the header's bell
      document.body.dispatchEvent(new CustomEvent("notifications-changed", { bubbles: true }));
    }
    if (data.type === "incident" && Number.isInteger(data.incident)) {
      refreshRow(desk, data.incident).catch(() => {});
    }
  });
  socket.addEventListener("close", (event) => {
    setState(label, label?.dataset.labelOffline || "Reconnecting…", false);
    if (event.code === 4401 || event.code === 4403) return; // not allowed: do not hammer
    const delay = Math.min(30000, 1000 * 2 ** attempt);
    window.setTimeout(() => connect(desk, label, attempt + 1), delay);
  });
}

function drawChart(el) {
  const source = document.getElementById(el.dataset.source);
  if (!source || !window.echarts) return;
  const rows = JSON.parse(source.textContent);
  const chart = window.echarts.init(el, null, { renderer: "canvas" });
  chart.setOption({
    color: ["#1f6feb", "#c8102e", "#9aa4b2"],
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0, itemGap: 16 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: rows.map((row) => row.label) },
    yAxis: [
      { type: "value", name: "min", splitLine: { lineStyle: { color: "#eef1f5" } } },
      { type: "value", minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      { name: el.dataset.labelMedian || "Median", type: "bar", barMaxWidth: 24, data: rows.map((r) => r.median) },
      { name: el.dataset.labelP90 || "p90", type: "bar", barMaxWidth: 24, data: rows.map((r) => r.p90) },
      {
        name: el.dataset.labelOpen || "Open",
        type: "line",
        yAxisIndex: 1,
        data: rows.map((r) => r.open),
      },
    ],
  });
  new ResizeObserver(() => chart.resize()).observe(el);
}

// The report form: choosing a store preselects the campaign live there (or none).
function wireReportForm() {
  const source = document.getElementById("incident-live-campaigns");
  const store = document.querySelector('.incident-report select[name="store"]');
  const campaign = document.querySelector('.incident-report select[name="campaign"]');
  if (!source || !store || !campaign) return;
  const live = JSON.parse(source.textContent);
  store.addEventListener("change", () => {
    campaign.value = live[store.value] ? String(live[store.value]) : "";
  });
}

function start() {
  wireReportForm();
  const desk = document.querySelector("[data-incident-desk]");
  if (desk && "WebSocket" in window) connect(desk, document.querySelector("[data-live-state]"));
  document.querySelectorAll('[data-chart="ttr"]').forEach(drawChart);
}

if (document.readyState === "complete") {
  start();
} else {
  window.addEventListener("load", start); // after the deferred ECharts script
}
