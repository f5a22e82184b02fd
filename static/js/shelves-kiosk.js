/* The kiosk page of a cloud-shelf screen (templates/shelves/kiosk/page.html).
 *
 * Fetches its payload, rotates big product cards every rotate_seconds (featured first),
 * counts impressions and reports them with a heartbeat every 30 s, listens on
 * ws/shelf/<token>/ for "shelf.changed" (refetch, re-render, no reload; reconnects with
 * back-off), and registers a service worker so it keeps rotating with the network cut.
 * The heartbeat's answer carries the payload version: a lost push is caught on the next beat.
 * Preview mode (staff, in an iframe) sends no heartbeats and no impressions.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("kiosk-config").textContent);
  var strings = JSON.parse(document.getElementById("kiosk-strings").textContent);
  var stage = document.querySelector("[data-kiosk-stage]");
  var dots = document.querySelector("[data-kiosk-dots]");
  var headline = document.querySelector("[data-kiosk-headline]");
  var storeName = document.querySelector("[data-kiosk-store]");
  var offlineBadge = document.querySelector("[data-kiosk-offline]");

  var state = {
    payload: null,
    version: null,
    index: -1,
    timer: null,
    impressions: {},
    socket: null,
    socketDelay: 1000,
    fetching: null,
  };
  var lang = document.documentElement.lang || "en";
  var money = (function () {
    try {
      return new Intl.NumberFormat(lang, { style: "currency", currency: "CNY", currencyDisplay: "narrowSymbol" });
    } catch (e) {
      return null;
    }
  })();

  function fmt(template, count) {
    return template.replace("%(count)s", String(count));
  }

  function price(value) {
    var number = Number(value);
    return money && !isNaN(number) ? money.format(number) : "¥" + value;
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setOffline(offline) {
    if (offlineBadge) offlineBadge.hidden = !offline;
    document.body.classList.toggle("is-offline", offline);
  }

  // --- rendering ----------------------------------------------------------------------------

  function card(item, position, total) {
    var node = el("article", "kiosk-card" + (item.featured ? " is-featured" : ""));
    node.dataset.productId = item.id;
    var media = el("div", "kiosk-media");
    if (item.image_url) {
      var img = el("img", "kiosk-image");
      img.src = item.image_url;
      img.alt = item.name;
      img.decoding = "async";
      img.addEventListener("error", function () {
        img.replaceWith(el("div", "kiosk-placeholder", item.name.charAt(0)));
      });
      media.appendChild(img);
    } else {
      media.appendChild(el("div", "kiosk-placeholder", item.name.charAt(0)));
    }
    if (item.featured) media.appendChild(el("span", "kiosk-featured", strings.featured));
    node.appendChild(media);

    var info = el("div", "kiosk-info");
    info.appendChild(el("h2", "kiosk-name", item.name));
    info.appendChild(el("p", "kiosk-price", price(item.price)));
    var stock = el("ul", "kiosk-stock");
    stock.appendChild(el("li", "kiosk-stock-online", fmt(strings.onlineStock, item.online_stock)));
    stock.appendChild(
      item.store_stock === null || item.store_stock === undefined
        ? el("li", "kiosk-stock-store is-none", strings.notInStore)
        : el("li", "kiosk-stock-store", fmt(strings.storeStock, item.store_stock))
    );
    info.appendChild(stock);
    var qr = el("figure", "kiosk-qr");
    var code = el("img", "kiosk-qr-img");
    code.src = item.qr;
    code.alt = strings.scanToBuy;
    code.width = 240;
    code.height = 240;
    qr.appendChild(code);
    qr.appendChild(el("figcaption", null, strings.scanToBuy));
    info.appendChild(qr);
    info.appendChild(el("p", "kiosk-position", position + 1 + " / " + total));
    node.appendChild(info);
    return node;
  }

  function renderEmpty() {
    stage.replaceChildren();
    var box = el("div", "kiosk-empty");
    box.dataset.kioskEmpty = "";
    box.appendChild(el("h2", null, strings.nothing));
    box.appendChild(el("p", null, strings.nothingHint));
    stage.appendChild(box);
    dots.replaceChildren();
  }

  function render(payload) {
    var changed = !state.payload || payload.version !== state.version;
    state.payload = payload;
    state.version = payload.version;
    headline.textContent = (payload.catalog && payload.catalog.headline) || "";
    if (payload.store && storeName) storeName.textContent = payload.store.name;
    document.body.dataset.slot = payload.slot;
    document.body.dataset.version = payload.version;
    if (!payload.items.length) {
      stop();
      renderEmpty();
      return;
    }
    var items = payload.items;
    stage.replaceChildren();
    dots.replaceChildren();
    items.forEach(function (item, i) {
      var node = card(item, i, items.length);
      node.hidden = true;
      stage.appendChild(node);
      dots.appendChild(el("li", item.featured ? "is-featured" : ""));
    });
    // every image (and QR code) is requested up front, so the service worker caches them all
    stage.querySelectorAll("img").forEach(function (img) {
      img.loading = "eager";
    });
    // a new version starts over (featured first); the same one goes on where it was
    var from = changed ? 0 : Math.max(0, Math.min(state.index, items.length - 1));
    start(payload.rotate_seconds || config.rotateSeconds, from, changed);
  }

  function show(index, count) {
    var cards = stage.querySelectorAll(".kiosk-card");
    if (!cards.length) return;
    state.index = ((index % cards.length) + cards.length) % cards.length;
    cards.forEach(function (node, i) {
      node.hidden = i !== state.index;
      node.classList.toggle("is-current", i === state.index);
    });
    dots.querySelectorAll("li").forEach(function (dot, i) {
      dot.classList.toggle("is-current", i === state.index);
    });
    var current = cards[state.index];
    document.body.dataset.current = current.dataset.productId;
    if (count !== false && !config.preview) {
      var id = current.dataset.productId;
      state.impressions[id] = (state.impressions[id] || 0) + 1;
    }
  }

  function stop() {
    if (state.timer) clearInterval(state.timer);
    state.timer = null;
  }

  function start(seconds, from, count) {
    stop();
    show(from, count);
    state.timer = setInterval(function () {
      show(state.index + 1);
    }, Math.max(2, seconds) * 1000);
  }

  // --- the payload --------------------------------------------------------------------------

  function load() {
    if (state.fetching) return state.fetching;
    state.fetching = fetch(config.payload, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 410 || response.status === 404) {
          window.location.reload(); // retired (or gone): the page itself says so
          return null;
        }
        if (!response.ok) throw new Error("payload " + response.status);
        setOffline(response.headers.get("X-Kiosk-From-Cache") === "1");
        return response.json();
      })
      .then(function (payload) {
        if (payload) render(payload);
      })
      .catch(function () {
        setOffline(true); // keep rotating what we have
        if (!state.payload) stage.querySelector("[data-kiosk-loading]") && renderEmpty();
      })
      .finally(function () {
        state.fetching = null;
      });
    return state.fetching;
  }

  // --- heartbeat ----------------------------------------------------------------------------

  function beat() {
    if (!config.heartbeat) return;
    var sent = state.impressions;
    state.impressions = {};
    fetch(config.heartbeat, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ impressions: sent, version: state.version }),
      credentials: "omit",
    })
      .then(function (response) {
        if (response.status === 410) {
          window.location.reload();
          return null;
        }
        if (!response.ok) throw new Error("heartbeat " + response.status);
        setOffline(false);
        return response.json();
      })
      .then(function (answer) {
        if (answer && answer.version && answer.version !== state.version) load();
      })
      .catch(function () {
        // not counted yet: add them back for the next beat
        Object.keys(sent).forEach(function (id) {
          state.impressions[id] = (state.impressions[id] || 0) + sent[id];
        });
        setOffline(true);
      });
  }

  // --- live changes -------------------------------------------------------------------------

  function connect() {
    if (!("WebSocket" in window) || !config.socket) return;
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var socket;
    try {
      socket = new WebSocket(scheme + window.location.host + config.socket);
    } catch (e) {
      return retry();
    }
    state.socket = socket;
    socket.addEventListener("open", function () {
      state.socketDelay = 1000;
      document.body.dataset.live = "1";
    });
    socket.addEventListener("message", function (event) {
      var message;
      try {
        message = JSON.parse(event.data);
      } catch (e) {
        return;
      }
      if (message.type === "shelf.changed") {
        document.body.dataset.pushes = String(Number(document.body.dataset.pushes || 0) + 1);
        load();
      }
    });
    socket.addEventListener("close", function (event) {
      document.body.dataset.live = "0";
      state.socket = null;
      if (event.code === 4410 || event.code === 4404) {
        window.location.reload();
        return;
      }
      retry();
    });
  }

  function retry() {
    var delay = state.socketDelay;
    state.socketDelay = Math.min(state.socketDelay * 2, 60000);
    setTimeout(connect, delay + Math.random() * 500);
  }

  // --- start --------------------------------------------------------------------------------

  if (config.serviceWorker && "serviceWorker" in navigator) {
    navigator.serviceWorker.register(config.serviceWorker).catch(function () {});
  }
  window.addEventListener("online", function () {
    setOffline(false);
    load();
  });
  window.addEventListener("offline", function () {
    setOffline(true);
  });
  load();
  connect();
  if (config.heartbeat) setInterval(beat, config.heartbeatSeconds * 1000);
})();
