// Device status, live: listens on /ws/live/ (the user's brand or store groups) and, for
// `device.online` / `device.offline`, updates the status badge of that device on the page.
// Labels come from data-label-<status> attributes on #device-rows (translated server-side).
// Those events and `device.low_stock` also fire "device-alerts-changed" on <body>: htmx then
// fetches the alert boxes afresh (#device-alerts). The socket also carries the user's own
// "notifications" pings: "notifications-changed" on <body> makes htmx fetch the header's bell.
const ALERT_EVENTS = new Set(["device.online", "device.offline", "device.low_stock"]);

function fire(name) {
  document.body.dispatchEvent(new CustomEvent(name, { bubbles: true }));
}
const rows = document.getElementById("device-rows");

function applyStatus(deviceId, status) {
  const holder = document.querySelector(`[data-device-id="${CSS.escape(String(deviceId))}"]`);
  const badge = holder && holder.querySelector("[data-device-status]");
  if (!badge || badge.dataset.deviceStatus === "retired") return;
  badge.className = `badge device-status device-status-${status}`;
  badge.dataset.deviceStatus = status;
  badge.textContent = rows.dataset[`label${status[0].toUpperCase()}${status.slice(1)}`] || status;
}

let connectedBefore = false;

function connect(delay) {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${window.location.host}/ws/live/`);
  socket.addEventListener("open", () => { delay = 1000; });
  socket.addEventListener("message", (message) => {
    let data;
    try { data = JSON.parse(message.data); } catch { return; }
    if (data.type === "hello") {
      rows.dataset.live = "connected"; // joined the live groups
      if (connectedBefore) { // what changed while the socket was down
        fire("notifications-changed");
        fire("device-alerts-changed");
      }
      connectedBefore = true;
    }
    if (data.type === "notifications") fire("notifications-changed");
    if (data.type !== "event" || !data.payload) return;
    if (data.event === "device.online") applyStatus(data.payload.device, "online");
    if (data.event === "device.offline") applyStatus(data.payload.device, "offline");
    if (ALERT_EVENTS.has(data.event)) fire("device-alerts-changed");
  });
  socket.addEventListener("close", (event) => {
    delete rows.dataset.live;
    if (event.code === 4401 || event.code === 4403) return; // not allowed: do not insist
    window.setTimeout(() => connect(Math.min(delay * 2, 60000)), delay);
  });
}

if (rows && "WebSocket" in window) {
  connect(1000);
}
