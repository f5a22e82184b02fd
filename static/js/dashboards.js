// Live dashboards (templates/dashboards/*): the page starts from the snapshot the server
// rendered into it (json_script), then listens on ws/dashboards/?store=<id|hq>.
// Frames: {"type": "snapshot", "seq", "data"} and {"type": "deltas", "items": [{seq, store,
// minute, inc, devices}]}. A delta whose seq is not the next one means something was missed:
// the page asks for a new snapshot ({"type": "resync"}). It reconnects when the socket drops.

const TZ = "Asia/Shanghai";
const MEMBER_KEYS = ["store", "cloud_shelf", "sample_dispenser", "other"];
const COUNT_KEYS = [
  "orders",
  "items",
  "scans",
  "coupons_claimed",
  "coupons_redeemed",
  "incidents_opened",
  "incidents_resolved",
  ...MEMBER_KEYS.map((k) => `members_${k}`),
];

const root = document.querySelector("[data-dashboard]");
const labels = document.getElementById("dashboard-labels")?.dataset || {};
const lang = document.documentElement.lang || undefined;
const money = new Intl.NumberFormat(lang, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
const dayOf = new Intl.DateTimeFormat("en-CA", { timeZone: TZ, year: "numeric", month: "2-digit", day: "2-digit" });
const hourOf = new Intl.DateTimeFormat("en-GB", { timeZone: TZ, hour: "2-digit", hourCycle: "h23" });
const clock = new Intl.DateTimeFormat(lang, { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });

let state = null; // the snapshot, kept current by the deltas
let lastSeq = 0;
let socket = null;
let retry = 0;
const charts = {};

// --- money as integer cents (no float drift however many deltas) -------------------------
const cents = (text) => {
  const [whole, frac = ""] = String(text || "0").split(".");
  const sign = whole.startsWith("-") ? -1 : 1;
  return sign * (Math.abs(parseInt(whole, 10) || 0) * 100 + parseInt((frac + "00").slice(0, 2), 10));
};
const fromCents = (n) => (n / 100).toFixed(2);
const cny = (text) => `¥${money.format(Number(text))}`;

function figures(t) {
  // a totals object of the snapshot → what the page shows
  const members = t.members || {};
  return {
    gmv: t.gmv,
    orders: t.orders,
    aov: t.orders ? fromCents(Math.round(cents(t.gmv) / t.orders)) : "0.00",
    scans: t.scans,
    members,
    coupons: t.coupons || { claimed: 0, redeemed: 0 },
    incidents: t.incidents || { opened: 0, resolved: 0 },
  };
}

function addTo(totals, inc) {
  // totals: the snapshot's shape ({gmv, orders, items, members: {...}, scans})
  if (inc.gmv) totals.gmv = fromCents(cents(totals.gmv) + cents(inc.gmv));
  for (const key of ["orders", "items", "scans"]) if (inc[key]) totals[key] = (totals[key] || 0) + inc[key];
  for (const [group, keys] of [["coupons", ["claimed", "redeemed"]], ["incidents", ["opened", "resolved"]]]) {
    totals[group] = totals[group] || {};
    for (const key of keys) {
      const n = inc[`${group}_${key}`] || 0;
      if (n) totals[group][key] = (totals[group][key] || 0) + n;
    }
  }
  let joined = 0;
  for (const key of MEMBER_KEYS) {
    const n = inc[`members_${key}`] || 0;
    if (n) {
      totals.members[key] = (totals.members[key] || 0) + n;
      joined += n;
    }
  }
  totals.members.total = (totals.members.total || 0) + joined;
  totals.aov = totals.orders ? fromCents(Math.round(cents(totals.gmv) / totals.orders)) : "0.00";
}

function addToMinutes(minutes, minute, inc) {
  let row = minutes.find((r) => Date.parse(r.minute) === Date.parse(minute));
  if (!row) {
    row = { minute, gmv: "0.00" };
    for (const key of COUNT_KEYS) row[key] = 0;
    minutes.push(row);
    minutes.sort((a, b) => Date.parse(a.minute) - Date.parse(b.minute));
  }
  if (inc.gmv) row.gmv = fromCents(cents(row.gmv) + cents(inc.gmv));
  for (const key of COUNT_KEYS) if (inc[key]) row[key] += inc[key];
}

function apply(delta) {
  if (delta.minute && delta.inc) {
    if (dayOf.format(new Date(delta.minute)) !== state.day) return false; // another day: resync
    addTo(state.totals, delta.inc);
    addToMinutes(state.minutes, delta.minute, delta.inc);
    if (state.kind === "hq") {
      const row = state.stores.find((s) => s.id === delta.store);
      if (row) addTo(row, delta.inc);
    }
    if (state.kind === "store" && delta.guide) {
      const guide = (state.leaderboard || []).find((g) => g.id === delta.guide);
      if (!guide) return false; // a guide new to the board: its name comes with a snapshot
      guide.orders += delta.inc.orders || 0;
      guide.gmv = fromCents(cents(guide.gmv) + cents(delta.inc.gmv || "0"));
      state.leaderboard.sort((a, b) => cents(b.gmv) - cents(a.gmv) || b.orders - a.orders);
    }
  }
  if (delta.resync) return false; // a phase or an incident changed: the snapshot brings names and times
  if (delta.devices) {
    if (state.kind === "store") {
      state.devices = delta.devices;
    } else {
      const row = state.stores.find((s) => s.id === delta.store);
      if (row) row.devices = delta.devices;
      state.devices = {
        online: state.stores.reduce((n, s) => n + s.devices.online, 0),
        offline: state.stores.reduce((n, s) => n + s.devices.offline, 0),
      };
    }
  }
  return true;
}

// --- drawing -------------------------------------------------------------------------------
function show(el, value) {
  const text = el.dataset.format === "money" ? cny(value) : String(value);
  if (el.textContent !== text) {
    el.textContent = text;
    el.classList.remove("dash-tick");
    void el.offsetWidth; // restart the highlight
    el.classList.add("dash-tick");
  }
}

function renderFigures() {
  const values = { ...figures(state.totals), devices: state.devices };
  root.querySelectorAll("[data-figure]").forEach((el) => {
    const value = el.dataset.figure.split(".").reduce((v, key) => (v == null ? v : v[key]), values);
    if (value != null) show(el, value);
  });
}

function lastHour() {
  const now = Math.floor(Date.now() / 60000) * 60000;
  const byMinute = new Map(state.minutes.map((r) => [Date.parse(r.minute), r]));
  const rows = [];
  for (let t = now - 59 * 60000; t <= now; t += 60000) {
    const row = byMinute.get(t);
    rows.push({ label: clock.format(new Date(t)), gmv: row ? Number(row.gmv) : 0, orders: row ? row.orders : 0 });
  }
  return rows;
}

function byHour() {
  const rows = Array.from({ length: 24 }, (_, h) => ({ label: String(h).padStart(2, "0"), gmv: 0, orders: 0 }));
  for (const r of state.minutes) {
    const h = parseInt(hourOf.format(new Date(r.minute)), 10) % 24;
    rows[h].gmv += Number(r.gmv);
    rows[h].orders += r.orders;
  }
  return rows;
}

function drawChart(el, rows) {
  if (!window.echarts) return;
  let chart = charts[el.dataset.dashChart];
  if (!chart) {
    chart = window.echarts.init(el, null, { renderer: "canvas" });
    charts[el.dataset.dashChart] = chart;
    new ResizeObserver(() => chart.resize()).observe(el);
  }
  chart.setOption({
    animation: false,
    color: ["#1f6feb", "#c8102e"],
    grid: { left: 8, right: 8, top: 36, bottom: 8, containLabel: true },
    legend: { top: 0, left: 0 },
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: rows.map((r) => r.label) },
    yAxis: [
      { type: "value", splitLine: { lineStyle: { color: "#eef1f5" } } },
      { type: "value", minInterval: 1, splitLine: { show: false } },
    ],
    series: [
      { name: labels.gmv || "GMV", type: "line", showSymbol: false, areaStyle: { opacity: 0.12 }, data: rows.map((r) => r.gmv) },
      { name: labels.orders || "Orders", type: "bar", yAxisIndex: 1, barMaxWidth: 14, data: rows.map((r) => r.orders) },
    ],
  });
}

function renderCharts() {
  root.querySelectorAll("[data-dash-chart]").forEach((el) => {
    drawChart(el, el.dataset.dashChart === "hours" ? byHour() : lastHour());
  });
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function sortKey(s) {
  if (state.sort === "orders") return s.orders;
  if (state.sort === "members") return s.members.total;
  if (state.sort === "redemptions") return s.coupons.redeemed;
  if (state.sort === "incidents") return s.incidents.opened;
  return cents(s.gmv) / 100;
}

function renderStores() {
  const body = root.querySelector("[data-stores]");
  if (!body || !state.stores.length) return;
  const links = new Map([...body.querySelectorAll("tr[data-store-id] a")].map((a) => [a.closest("tr").dataset.storeId, a.href]));
  const sorted = [...state.stores].sort((a, b) => sortKey(b) - sortKey(a) || a.code.localeCompare(b.code));
  body.replaceChildren(
    ...sorted.map((s) => {
      const tr = document.createElement("tr");
      tr.dataset.storeId = s.id;
      const name = document.createElement("td");
      const a = document.createElement("a");
      a.href = links.get(String(s.id)) || `../store/${s.id}/`;
      a.textContent = s.name;
      name.append(a);
      tr.append(
        name,
        cell(s.city || "—"),
        cell(cny(s.gmv), "num"),
        cell(String(s.orders), "num"),
        cell(cny(s.aov), "num"),
        cell(String(s.members.total), "num"),
        cell(String(s.scans), "num"),
        cell(String(s.coupons.redeemed), "num"),
        cell(String(s.incidents.opened), "num"),
        cell(`${s.devices.online} / ${s.devices.offline}`, "num"),
      );
      return tr;
    }),
  );
  const byGmv = [...state.stores].sort((a, b) => cents(b.gmv) - cents(a.gmv) || a.code.localeCompare(b.code));
  const rank = (el, stores) => {
    if (!el || !stores.length) return;
    el.replaceChildren(
      ...stores.map((s) => {
        const li = document.createElement("li");
        const name = document.createElement("span");
        name.textContent = s.name;
        const value = document.createElement("span");
        value.className = "num";
        value.textContent = cny(s.gmv);
        li.append(name, " ", value);
        return li;
      }),
    );
  };
  const cities = new Map();
  for (const s of state.stores) {
    const c = cities.get(s.city || "") || { city: s.city || "", stores: 0, gmv: 0, orders: 0 };
    c.stores += 1;
    c.gmv += cents(s.gmv);
    c.orders += s.orders;
    cities.set(c.city, c);
  }
  const cityBody = root.querySelector("[data-cities]");
  if (cityBody) {
    cityBody.replaceChildren(
      ...[...cities.values()]
        .sort((a, b) => b.gmv - a.gmv)
        .map((c) => {
          const tr = document.createElement("tr");
          tr.append(cell(c.city || "—"), cell(String(c.stores), "num"), cell(cny(fromCents(c.gmv)), "num"), cell(String(c.orders), "num"));
          return tr;
        }),
    );
  }
  rank(root.querySelector('[data-rank="top"]'), byGmv.slice(0, 3));
  if (byGmv.length > 3) rank(root.querySelector('[data-rank="lagging"]'), byGmv.slice(-3).reverse());
}

function renderLeaderboard() {
  const body = root.querySelector("[data-leaderboard]");
  if (!body || !state.leaderboard || !state.leaderboard.length) return;
  const rows = state.leaderboard.map((g, i) => {
    const tr = document.createElement("tr");
    tr.dataset.guide = String(g.id);
    for (const [text, num] of [[String(i + 1), true], [g.name, false], [String(g.orders), true], [cny(g.gmv), true]]) {
      const td = document.createElement("td");
      td.textContent = text;
      if (num) td.className = "num";
      tr.appendChild(td);
    }
    return tr;
  });
  body.replaceChildren(...rows);
}

// --- campaigns: phase and a countdown to the next change (HQ) ------------------------------
const cap = (word) => word.charAt(0).toUpperCase() + word.slice(1);
// data-phase-warmup on the labels template is dataset.phaseWarmup
function phaseLabel(phase) {
  return labels[`phase${cap(phase || "none")}`] || phase || "";
}

function countdown(iso) {
  let s = Math.max(0, Math.floor((Date.parse(iso) - Date.now()) / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const pad = (n) => String(n).padStart(2, "0");
  const hms = `${pad(Math.floor(s / 3600))}:${pad(Math.floor((s % 3600) / 60))}:${pad(s % 60)}`;
  return d ? `${d}d ${hms}` : hms;
}

function renderCampaigns() {
  const box = root.querySelector("[data-campaigns]");
  const list = root.querySelector("[data-campaign-list]");
  if (!box || !list) return;
  const campaigns = state.campaigns || [];
  box.hidden = campaigns.length === 0;
  list.replaceChildren(
    ...campaigns.map((c) => {
      const li = document.createElement("li");
      li.dataset.campaign = c.id;
      const name = document.createElement("strong");
      name.textContent = c.name;
      const phase = document.createElement("span");
      phase.className = "badge";
      phase.dataset.phase = c.phase;
      phase.textContent = phaseLabel(c.phase);
      li.append(name, " ", phase);
      if (c.next_at) {
        const next = document.createElement("span");
        next.className = "muted";
        next.textContent = ` ${labels.next || ""} ${phaseLabel(c.next_phase)} `;
        const time = document.createElement("time");
        time.className = "dash-countdown num";
        time.dateTime = c.next_at;
        time.dataset.countdown = c.next_at;
        li.append(" ", next, time);
      }
      return li;
    }),
  );
  tickCountdowns();
}

function feedItem(parts, attrs = {}) {
  const li = document.createElement("li");
  Object.assign(li.dataset, attrs);
  for (const [tag, cls, text] of parts) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = text;
    li.append(el, " ");
  }
  return li;
}

function renderFeeds() {
  const feed = root.querySelector("[data-incident-feed]");
  if (feed) {
    const items = (state.incidents || []).map((i) =>
      feedItem(
        [
          ["span", "badge", labels[`severity${cap(i.severity || "")}`] || i.severity],
          ["strong", "", i.title],
          ["span", "muted", i.store],
        ],
        { incident: i.id, severity: i.severity },
      ),
    );
    feed.replaceChildren(...(items.length ? items : [feedItem([["span", "muted", labels.noIncidents || ""]])]));
  }
  const outages = root.querySelector("[data-outages]");
  if (outages) {
    const items = (state.outages || []).map((o) =>
      feedItem([
        ["strong", "", o.name],
        ["span", "dash-bad num", String(o.offline)],
      ]),
    );
    outages.replaceChildren(...(items.length ? items : [feedItem([["span", "muted", labels.noOutages || ""]])]));
  }
}

function tickCountdowns() {
  root.querySelectorAll("[data-countdown]").forEach((el) => {
    el.textContent = countdown(el.dataset.countdown);
  });
}

function render() {
  renderFigures();
  renderCharts();
  if (state.kind === "hq") renderCampaigns();
  if (state.kind === "hq") renderFeeds();
  if (state.kind === "hq") renderStores();
  else renderLeaderboard();
}

// --- the socket ----------------------------------------------------------------------------
function status(text, live) {
  const el = root.querySelector("[data-live-status]");
  if (!el) return;
  el.textContent = text;
  el.classList.toggle("dash-live", Boolean(live));
}

function resync() {
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "resync" }));
    root.dataset.resyncs = String(Number(root.dataset.resyncs || 0) + 1);
  }
}

function onFrame(frame) {
  if (frame.type === "notifications") { // the user's own: htmx fetches the header's bell
    document.body.dispatchEvent(new CustomEvent("notifications-changed", { bubbles: true }));
    return;
  }
  if (frame.type === "snapshot") {
    state = frame.data;
    lastSeq = frame.seq;
    render();
    root.dataset.seq = String(lastSeq);
    return;
  }
  if (frame.type !== "deltas" || !state) return;
  for (const delta of frame.items) {
    if (delta.seq <= lastSeq) continue; // already in the snapshot
    if (delta.seq !== lastSeq + 1 || !apply(delta)) {
      resync(); // a gap (or a new day): start again from a snapshot
      return;
    }
    lastSeq = delta.seq;
  }
  render();
  root.dataset.seq = String(lastSeq);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/dashboards/?store=${encodeURIComponent(root.dataset.socketTarget)}`);
  socket.addEventListener("open", () => {
    retry = 0;
    status(labels.live || "Live", true);
  });
  socket.addEventListener("message", (e) => onFrame(JSON.parse(e.data)));
  socket.addEventListener("close", (e) => {
    status(labels.offline || "Reconnecting…", false);
    if (e.code === 4401 || e.code === 4403) return; // not allowed: reconnecting will not help
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 500 * 2 ** (retry - 1));
  });
}

function start() {
  if (!root) return;
  const source = document.getElementById(root.dataset.source);
  state = source ? JSON.parse(source.textContent) : null;
  if (!state) return;
  lastSeq = state.seq;
  render();
  setInterval(() => {
    if (dayOf.format(new Date()) !== state.day) resync(); // midnight: a new day starts at zero
    renderCharts(); // the last hour slides on even when nothing happens
  }, 30000);
  setInterval(tickCountdowns, 1000);
  connect();
}

if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}
