/* The coupon counter (templates/promotions/counter/page.html): give and redeem coupons,
 * also with the store's network down.
 *
 * Online, the forms post to the server as usual. Offline, a scanned coupon token
 * (cp1.<kid>.<payload>.<sig>, see promotions/services/tokens.py) is verified here with
 * WebCrypto (ECDSA P-256 / SHA-256 against the brand's public keys from the cached pack):
 * signature, brand, store, validity window, threshold; the discount is computed here and
 * the redemption is queued in localStorage (client UUID, tablet time). A coupon already
 * redeemed on this tablet is refused. On reconnect (the online event, and a retry every
 * few seconds while anything waits) the queue is posted to sync/ and each record's outcome
 * is shown. A block of coupons taken beforehand can be handed out offline by phone number;
 * its hand-outs sync (and its unused coupons go back to stock) the same way.
 * A service worker (sw.js, scope: this page) keeps the page, its files and the pack.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-counter]");
  if (!root) return;
  var config = JSON.parse(document.getElementById("counter-config").textContent);
  var strings = JSON.parse(document.getElementById("counter-strings").textContent);
  var PREFIX = "tiandi.counter." + config.store + ".";

  var banner = root.querySelector("[data-counter-banner]");
  var queueNote = root.querySelector("[data-counter-queue]");
  var outcomesList = root.querySelector("[data-counter-outcomes]");
  var redeemForm = root.querySelector("[data-counter-redeem]");
  var result = root.querySelector("[data-counter-result]");
  var blockForm = root.querySelector("[data-counter-block]");
  var blockStatus = root.querySelector("[data-counter-block-status]");
  var handoutForm = root.querySelector("[data-counter-handout]");
  var syncButton = root.querySelector("[data-counter-sync]");
  var scanButton = root.querySelector("[data-counter-scan]");
  var video = root.querySelector("[data-counter-video]");
  var syncing = false;

  // --- storage ----------------------------------------------------------------------------

  function load(name, fallback) {
    try {
      var raw = window.localStorage.getItem(PREFIX + name);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function save(name, value) {
    window.localStorage.setItem(PREFIX + name, JSON.stringify(value));
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function deviceLabel() {
    var key = "tiandi.counter.device";
    var label = window.localStorage.getItem(key);
    if (!label) {
      label = "tablet-" + uuid().slice(0, 8);
      window.localStorage.setItem(key, label);
    }
    return label;
  }

  function fmt(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_m, name) {
      return values[name] === undefined ? "" : values[name];
    });
  }

  function isOffline() {
    return navigator.onLine === false;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJSON(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(body),
    }).then(function (response) {
      return response.json().then(
        function (data) {
          return { ok: response.ok, status: response.status, data: data };
        },
        function () {
          return { ok: false, status: response.status, data: {} };
        }
      );
    });
  }

  // --- the pack: keys and templates to work offline ---------------------------------------

  function refreshPack() {
    if (isOffline()) return Promise.resolve(load("pack", null));
    return fetch(config.pack, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("pack " + response.status);
        return response.json();
      })
      .then(function (pack) {
        save("pack", pack);
        return pack;
      })
      .catch(function () {
        return load("pack", null);
      });
  }

  // --- tokens, verified in the browser ----------------------------------------------------

  function b64urlBytes(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = window.atob(b64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function normaliseCode(text) {
    return String(text || "")
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, "")
      .slice(0, 20);
  }

  /* The payload of a genuine token of the pack's brand, or null. */
  function verifyToken(token, pack) {
    var parts = String(token).trim().split(".");
    if (parts.length !== 4 || parts[0] !== "cp1" || !window.crypto || !window.crypto.subtle) {
      return Promise.resolve(null);
    }
    var jwk = (pack.keys || []).filter(function (k) {
      return k.kid === parts[1];
    })[0];
    if (!jwk) return Promise.resolve(null);
    var signature;
    var payload;
    try {
      signature = b64urlBytes(parts[3]);
      payload = JSON.parse(new TextDecoder().decode(b64urlBytes(parts[2])));
    } catch (e) {
      return Promise.resolve(null);
    }
    if (signature.length !== 64) return Promise.resolve(null);
    var signed = new TextEncoder().encode(parts[0] + "." + parts[1] + "." + parts[2]);
    return window.crypto.subtle
      .importKey("jwk", { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y, ext: true }, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])
      .then(function (key) {
        return window.crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, signature, signed);
      })
      .then(function (genuine) {
        return genuine && payload.b === pack.brand ? payload : null;
      })
      .catch(function () {
        return null;
      });
  }

  function cents(value) {
    var number = Number(String(value || "").replace(",", "."));
    if (!isFinite(number)) return NaN;
    return Math.round(number * 100);
  }

  function yuan(amount) {
    return (amount / 100).toFixed(2);
  }

  function trimYuan(amount) {
    return amount % 100 === 0 ? String(amount / 100) : yuan(amount);
  }

  /* The rules the tablet can check alone; returns {error} or {discount} (cents). */
  function checkOffline(payload, subtotal) {
    var now = Date.now() / 1000;
    if (payload.s && payload.s.indexOf(config.store) === -1) return { error: strings.wrongStore };
    if (now < payload.f) return { error: strings.notYet };
    if (now >= payload.x) return { error: strings.expired };
    if (!(subtotal > 0)) return { error: strings.badSubtotal };
    var threshold = cents(payload.h || "0");
    if (subtotal < threshold) return { error: fmt(strings.threshold, { threshold: trimYuan(threshold) }) };
    var off;
    if (payload.k === "percent_off") {
      off = Math.floor((subtotal * (payload.p || 0) + 50) / 100);
    } else {
      off = cents(payload.a || "0");
    }
    return { discount: Math.min(off, subtotal) };
  }

  // --- the queue of offline redemptions ---------------------------------------------------

  function queue() {
    return load("queue", []);
  }

  function redeemedHere() {
    return load("redeemed", []);
  }

  function show(element, text, kind) {
    element.textContent = text;
    element.hidden = !text;
    element.className = element.className.replace(/\s*is-(ok|error|info)/g, "") + (kind ? " is-" + kind : "");
  }

  function updateBanner() {
    var waiting = queue().length;
    var handouts = (load("block", null) || { handouts: [] }).handouts.filter(function (h) {
      return !h.synced;
    }).length;
    root.dataset.queued = String(waiting);
    root.dataset.offline = isOffline() ? "1" : "0";
    if (isOffline()) {
      show(banner, waiting ? fmt(strings.offline, { n: waiting }) : strings.offlineNone, "error");
    } else if (waiting) {
      show(banner, fmt(strings.waiting, { n: waiting }), "info");
    } else {
      show(banner, "", null);
    }
    var notes = [];
    if (waiting) notes.push(fmt(strings.waiting, { n: waiting }));
    if (handouts) notes.push(fmt(strings.handoutsWaiting, { n: handouts }));
    if (notes.length) queueNote.textContent = notes.join(" · ");
    root.querySelectorAll("[data-counter-online-only] button[type=submit]").forEach(function (button) {
      button.disabled = isOffline();
    });
  }

  function addOutcome(item) {
    var li = document.createElement("li");
    li.className = "counter-outcome is-" + item.outcome;
    li.dataset.outcome = item.outcome;
    li.dataset.code = item.code;
    var label = strings[item.outcome] || item.outcome;
    li.textContent = "…" + String(item.code || "").slice(-4) + " · " + label + (item.reason ? " — " + item.reason : "");
    outcomesList.insertBefore(li, outcomesList.firstChild);
    while (outcomesList.children.length > 20) outcomesList.removeChild(outcomesList.lastChild);
  }

  function redeemOffline(event) {
    event.preventDefault();
    var data = new FormData(redeemForm);
    var text = String(data.get("token") || "").trim();
    var subtotal = cents(data.get("subtotal"));
    var orderRef = String(data.get("order_ref") || "").trim().slice(0, 64);
    var pack = load("pack", null);
    if (!pack) return show(result, strings.noPack, "error");
    if (text.indexOf("cp1.") !== 0) {
      // a typed code can be checked offline only if it is one of this tablet's own block
      var block = load("block", null);
      var code = normaliseCode(text);
      var mine = block && block.coupons.filter(function (c) {
        return c.code === code;
      })[0];
      if (!mine) return show(result, strings.needToken, "error");
      text = mine.token;
    }
    verifyToken(text, pack).then(function (payload) {
      if (!payload) return show(result, strings.forged, "error");
      var code = normaliseCode(payload.c);
      if (redeemedHere().indexOf(code) !== -1) return show(result, strings.usedHere, "error");
      var check = checkOffline(payload, subtotal);
      if (check.error) return show(result, check.error, "error");
      var records = queue();
      records.push({
        client_id: uuid(),
        code: code,
        token: text,
        subtotal: yuan(subtotal),
        order_ref: orderRef,
        redeemed_at: new Date().toISOString(),
      });
      save("queue", records);
      save("redeemed", redeemedHere().concat([code]).slice(-500));
      show(result, fmt(strings.queued, { discount: yuan(check.discount) }), "ok");
      redeemForm.reset();
      updateBanner();
    });
  }

  function syncRedemptions() {
    var records = queue();
    if (!records.length) return Promise.resolve();
    return postJSON(config.sync, { device: deviceLabel(), records: records }).then(function (answer) {
      if (!answer.ok) throw new Error("sync " + answer.status);
      var done = {};
      (answer.data.outcomes || []).forEach(function (item) {
        done[item.client_id] = true;
        addOutcome(item);
      });
      save(
        "queue",
        queue().filter(function (r) {
          return !done[r.client_id];
        })
      );
    });
  }

  function syncBlock(force) {
    var block = load("block", null);
    if (!block) return Promise.resolve();
    var pending = block.handouts.filter(function (h) {
      return !h.synced;
    });
    if (!pending.length && !force) return Promise.resolve();
    var url = config.blockSync.replace("/0/", "/" + block.id + "/");
    return postJSON(url, { handouts: block.handouts }).then(function (answer) {
      if (!answer.ok) throw new Error("block " + answer.status);
      (answer.data.outcomes || []).forEach(addOutcome);
      save("block", null);
      showBlock();
    });
  }

  function syncAll(force) {
    if (syncing || isOffline()) return Promise.resolve();
    syncing = true;
    root.dataset.syncing = "1";
    return syncBlock(force)
      .then(syncRedemptions)
      .catch(function () {
        show(result, strings.failed, "error");
      })
      .then(function () {
        syncing = false;
        root.dataset.syncing = "0";
        updateBanner();
      });
  }

  // --- offline blocks -----------------------------------------------------------------------

  function showBlock() {
    var block = load("block", null);
    if (!blockStatus) return;
    if (!block) {
      blockStatus.textContent = "";
      handoutForm.hidden = true;
      return;
    }
    var left = block.coupons.length - block.handouts.length;
    blockStatus.textContent = block.name + " · " + fmt(strings.blockTaken, { n: left });
    handoutForm.hidden = false;
  }

  function takeBlock(event) {
    event.preventDefault();
    var data = new FormData(blockForm);
    // one block per tablet: a block held already syncs first (its hand-outs are given, its
    // unused coupons go back), so nothing handed out is ever dropped
    syncBlock(true)
      .then(function () {
        return postJSON(config.blocks, {
          template: data.get("template"),
          size: data.get("size"),
          device_label: deviceLabel(),
        });
      })
      .then(function (answer) {
        if (!answer.ok) return show(result, (answer.data.error || {}).message || strings.failed, "error");
        save("block", { id: answer.data.block, name: answer.data.name, coupons: answer.data.coupons, handouts: [] });
        showBlock();
      })
      .catch(function () {
        show(result, strings.failed, "error");
      });
  }

  function handOut(event) {
    event.preventDefault();
    var block = load("block", null);
    var phone = String(new FormData(handoutForm).get("phone") || "").trim();
    if (!/^\+?[\d\s-]{6,20}$/.test(phone)) return show(result, strings.badPhone, "error");
    var used = {};
    block.handouts.forEach(function (h) {
      used[h.code] = true;
    });
    var coupon = block.coupons.filter(function (c) {
      return !used[c.code];
    })[0];
    if (!coupon) return show(result, strings.blockEmpty, "error");
    block.handouts.push({ client_id: uuid(), code: coupon.code, phone: phone, time: new Date().toISOString() });
    save("block", block);
    var masked = phone.length > 4 ? "****" + phone.slice(-4) : phone;
    show(result, fmt(strings.handedOut, { code: coupon.code, phone: masked }), "ok");
    handoutForm.reset();
    showBlock();
    updateBanner();
    if (!isOffline()) syncAll(false);
  }

  // --- scanning -------------------------------------------------------------------------------

  function setupScanner() {
    if (!scanButton || !("BarcodeDetector" in window) || !navigator.mediaDevices) return;
    scanButton.hidden = false;
    var stream = null;
    var timer = null;
    function stop() {
      if (timer) window.clearInterval(timer);
      timer = null;
      if (stream) stream.getTracks().forEach(function (t) {
        t.stop();
      });
      stream = null;
      video.hidden = true;
      scanButton.textContent = strings.scan;
    }
    scanButton.addEventListener("click", function () {
      if (stream) return stop();
      var detector;
      try {
        detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      } catch (e) {
        return show(result, strings.noCamera, "error");
      }
      navigator.mediaDevices
        .getUserMedia({ video: { facingMode: "environment" } })
        .then(function (s) {
          stream = s;
          video.srcObject = s;
          video.hidden = false;
          scanButton.textContent = strings.stopScan;
          return video.play();
        })
        .then(function () {
          timer = window.setInterval(function () {
            detector
              .detect(video)
              .then(function (codes) {
                if (!codes.length) return;
                redeemForm.querySelector("[name=token]").value = codes[0].rawValue;
                stop();
                var subtotal = redeemForm.querySelector("[name=subtotal]");
                if (subtotal) subtotal.focus();
              })
              .catch(function () {});
          }, 300);
        })
        .catch(function () {
          stop();
          show(result, strings.noCamera, "error");
        });
    });
  }

  // --- wiring ---------------------------------------------------------------------------------

  redeemForm.addEventListener("submit", function (event) {
    if (isOffline()) return redeemOffline(event);
    var text = String(new FormData(redeemForm).get("token") || "").trim();
    var code = normaliseCode(text);
    var pending = queue().some(function (r) {
      return r.code === code || r.token === text;
    });
    if (pending) {
      event.preventDefault();
      show(result, strings.usedHere, "error");
    }
  });
  if (blockForm) blockForm.addEventListener("submit", takeBlock);
  if (handoutForm) handoutForm.addEventListener("submit", handOut);
  if (syncButton)
    syncButton.addEventListener("click", function () {
      syncAll(false);
    });
  var returnButton = root.querySelector("[data-counter-return]");
  if (returnButton)
    returnButton.addEventListener("click", function () {
      syncAll(true);
    });
  root.querySelectorAll("[data-counter-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () {
      select.form.submit();
    });
  });
  window.addEventListener("online", function () {
    updateBanner();
    refreshPack();
    syncAll(false);
  });
  window.addEventListener("offline", updateBanner);
  window.setInterval(function () {
    if (queue().length && !isOffline()) syncAll(false);
  }, (config.retrySeconds || 20) * 1000);

  setupScanner();
  showBlock();
  updateBanner();
  refreshPack().then(function () {
    root.dataset.ready = "1";
    if (!isOffline()) syncAll(false);
  });
  if (config.serviceWorker && "serviceWorker" in navigator) {
    navigator.serviceWorker
      .register(config.serviceWorker)
      .then(function () {
        return navigator.serviceWorker.ready;
      })
      .then(function (registration) {
        if (registration.active && !isOffline()) {
          registration.active.postMessage({ cachePage: window.location.pathname + window.location.search });
        }
        root.dataset.worker = "1";
      })
      .catch(function () {});
  }
})();
