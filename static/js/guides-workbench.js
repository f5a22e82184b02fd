/* The guide workbench (templates/guides/workbench/): the offline queue and snapshot.
 *
 * - Notes, visits and outcomes are queued in localStorage with a client-made UUID and sent
 *   to the sync endpoint (JSON, CSRF header) at once, on `online`, on load and every 30 s;
 *   created and duplicate items leave the queue, rejected ones stay with their reason.
 *   The server records a client id once, so a retry never duplicates.
 * - The snapshot (today's tasks, recent members: masked fields only) is kept in
 *   localStorage; offline, the page's lists are drawn from it and search filters it.
 * - A service worker (/guides/sw.js) keeps the page shell for opening offline.
 */
/* global htmx */
"use strict";

(function () {
  var root = document.querySelector("[data-wb]");
  var configNode = document.getElementById("workbench-config");
  if (!root || !configNode) return;
  var config = JSON.parse(configNode.textContent);
  var strings = JSON.parse(document.getElementById("workbench-strings").textContent);
  var QUEUE_KEY = "tiandi-workbench-queue-v1:" + (config.user || "");
  var SNAPSHOT_KEY = "tiandi-workbench-snapshot-v1:" + (config.user || "");
  var syncing = false;

  // --- small helpers ----------------------------------------------------------------------

  function fill(text, values) {
    return String(text).replace(/%\((\w+)\)s/g, function (_m, key) {
      return values[key] === undefined ? "" : values[key];
    });
  }

  function uuid() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 0x100).toString(16).slice(1);
    }).join("");
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function load(key, fallback) {
    try {
      var raw = window.localStorage.getItem(key);
      return raw ? JSON.parse(raw) : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    try {
      window.localStorage.setItem(key, JSON.stringify(value));
    } catch (e) {
      /* storage full or disabled: the queue lives in memory for this page */
    }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      node.setAttribute(name, attrs[name]);
    });
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function flash(message) {
    var node = root.querySelector("[data-wb-flash]");
    if (!node) return;
    node.textContent = message;
    node.hidden = !message;
  }

  function trigger(name) {
    if (window.htmx) htmx.trigger(document.body, name);
    else document.body.dispatchEvent(new CustomEvent(name, { bubbles: true }));
  }

  // --- the queue --------------------------------------------------------------------------

  var memoryQueue = null;

  function queue() {
    return memoryQueue || load(QUEUE_KEY, []);
  }

  function setQueue(items) {
    memoryQueue = items;
    save(QUEUE_KEY, items);
    renderQueue();
  }

  function renderQueue() {
    var items = queue();
    var badge = root.querySelector("[data-wb-sync-badge]");
    var list = root.querySelector("[data-wb-queue]");
    if (badge) {
      badge.textContent = items.length
        ? items.length === 1
          ? strings.waitingOne
          : fill(strings.waiting, { n: items.length })
        : strings.synced;
      badge.classList.toggle("wb-sync-waiting", items.length > 0);
      badge.setAttribute("data-wb-waiting", String(items.length));
    }
    if (list) {
      list.textContent = "";
      items.forEach(function (item) {
        var li = el("li", { "data-wb-queued": item.client_id });
        li.appendChild(el("strong", {}, item.label || "#" + item.member_id));
        li.appendChild(el("span", {}, " " + (item.note || "").slice(0, 80)));
        if (item.error) li.appendChild(el("span", { class: "wb-queue-error" }, " " + fill(strings.rejected, { error: item.error })));
        list.appendChild(li);
      });
    }
  }

  function enqueue(item) {
    item.client_id = item.client_id || uuid();
    item.occurred_at = item.occurred_at || new Date().toISOString();
    item.offline = !navigator.onLine;
    var items = queue();
    items.push(item);
    setQueue(items);
    flash(navigator.onLine ? strings.saved : strings.queued);
    sync();
  }

  function sync() {
    var pending = queue().filter(function (item) {
      return !item.error;
    });
    if (syncing || !pending.length || !navigator.onLine) {
      renderQueue();
      return Promise.resolve();
    }
    syncing = true;
    var badge = root.querySelector("[data-wb-sync-badge]");
    if (badge) badge.textContent = strings.syncing;
    var sent = pending.map(function (item) {
      return {
        client_id: item.client_id,
        member_id: item.member_id,
        task_id: item.task_id || null,
        kind: item.kind,
        note: item.note,
        outcome: item.outcome || "",
        next_step: item.next_step || "",
        occurred_at: item.occurred_at,
        offline: item.offline !== false,
      };
    });
    return fetch(config.sync, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify({ items: sent }),
    })
      .then(function (response) {
        if (!response.ok) throw new Error("sync " + response.status);
        return response.json();
      })
      .then(function (body) {
        var byId = {};
        (body.results || []).forEach(function (result) {
          byId[result.client_id] = result;
        });
        var anyTask = false;
        var anyDone = false;
        var left = queue().filter(function (item) {
          var result = byId[item.client_id];
          if (!result) return true;
          if (result.status === "rejected") {
            item.error = result.error || "?";
            return true;
          }
          anyDone = true;
          if (item.task_id) anyTask = true;
          return false;
        });
        syncing = false;
        setQueue(left);
        if (anyDone) {
          flash(strings.saved);
          trigger("guides-numbers-changed");
          if (anyTask) trigger("guides-task-done");
          document.dispatchEvent(new CustomEvent("guides-workbench-synced"));
        }
      })
      .catch(function () {
        syncing = false;
        // the network failed under the page: what is queued has waited for it
        setQueue(queue().map(function (item) {
          item.offline = true;
          return item;
        }));
      });
  }

  // --- the snapshot -----------------------------------------------------------------------

  function refreshSnapshot() {
    if (!navigator.onLine || !config.snapshot) return;
    fetch(config.snapshot, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) throw new Error("snapshot " + response.status);
        return response.json();
      })
      .then(function (data) {
        save(SNAPSHOT_KEY, data);
      })
      .catch(function () {});
  }

  function noteButton(member, taskId) {
    var attrs = { type: "button", class: "button wb-button", "data-wb-note-open": "", "data-member": String(member.id), "data-label": member.name || member.member_no };
    if (taskId) attrs["data-task"] = String(taskId);
    return el("button", attrs, strings.note);
  }

  function memberLine(member) {
    var main = el("div", { class: "wb-item-main" });
    var link = el("a", { class: "wb-member-link", href: config.memberCard.replace("/0/", "/" + member.id + "/") });
    link.appendChild(el("strong", {}, member.name || member.member_no));
    main.appendChild(link);
    main.appendChild(el("span", { class: "muted" }, member.member_no + " · " + member.phone + (member.tier ? " · " + member.tier : "")));
    return main;
  }

  function drawMembers(members) {
    var list = root.querySelector("[data-wb-member-list]");
    if (!list) return;
    list.textContent = "";
    members.forEach(function (member) {
      var li = el("li", { class: "wb-item", "data-wb-member": String(member.id) });
      li.appendChild(memberLine(member));
      var actions = el("div", { class: "wb-item-actions" });
      actions.appendChild(noteButton(member));
      li.appendChild(actions);
      list.appendChild(li);
    });
    if (!members.length) list.appendChild(el("li", { class: "muted wb-empty" }, strings.noMembers));
    var more = root.querySelector(".wb-more");
    if (more) more.hidden = true;
  }

  function drawTasks(tasks) {
    var list = root.querySelector("[data-wb-task-list]");
    if (!list) return;
    list.textContent = "";
    tasks.forEach(function (task) {
      var li = el("li", { class: "wb-item wb-task" + (task.overdue ? " wb-overdue" : ""), "data-wb-task": String(task.id) });
      var main = memberLine(task.member);
      main.appendChild(el("span", { class: "wb-task-what" }, task.kind_label + (task.title ? " · " + task.title : "") + (task.overdue ? " · " + strings.overdue : "")));
      li.appendChild(main);
      var actions = el("div", { class: "wb-item-actions" });
      actions.appendChild(noteButton(task.member, task.id));
      li.appendChild(actions);
      list.appendChild(li);
    });
    if (!tasks.length) list.appendChild(el("li", { class: "muted wb-empty" }, strings.noTasks));
  }

  function matches(member, q) {
    q = q.trim().toLowerCase();
    if (!q) return true;
    var digits = q.replace(/[\s-]/g, "");
    if (/^\d{4}$/.test(digits)) return member.phone.slice(-4) === digits;
    return member.member_no.toLowerCase() === q || (member.name || "").toLowerCase().indexOf(q) >= 0;
  }

  function showOffline() {
    var banner = root.querySelector("[data-wb-offline]");
    var snapshot = load(SNAPSHOT_KEY, null);
    if (banner) {
      banner.hidden = false;
      banner.textContent = snapshot
        ? fill(strings.offline, { time: new Date(snapshot.generated_at).toLocaleTimeString() })
        : strings.offlineNoSnapshot;
    }
    if (snapshot && !root.hasAttribute("data-wb-member-card")) {
      drawTasks(snapshot.tasks || []);
      drawMembers(snapshot.members || []);
    }
  }

  function showOnline() {
    var banner = root.querySelector("[data-wb-offline]");
    if (banner) banner.hidden = true;
    sync();
    refreshSnapshot();
    // the lists drawn from the snapshot make way for the server's again
    if (!root.hasAttribute("data-wb-member-card")) {
      trigger("guides-task-done");
      trigger("guides-numbers-changed");
      var form = root.querySelector("[data-wb-search]");
      if (form && window.htmx) htmx.trigger(form, "submit");
    }
  }

  // --- forms ------------------------------------------------------------------------------

  var dialog = root.querySelector("[data-wb-note-dialog]");

  document.addEventListener("click", function (event) {
    var open = event.target.closest("[data-wb-note-open]");
    if (open && dialog) {
      event.preventDefault();
      var form = dialog.querySelector("form");
      form.reset();
      form.elements.member_id.value = open.getAttribute("data-member");
      form.elements.task_id.value = open.getAttribute("data-task") || "";
      dialog.querySelector("[data-wb-note-title]").textContent = fill(strings.noteFor, { member: open.getAttribute("data-label") || "" });
      if (dialog.showModal) dialog.showModal();
      else dialog.setAttribute("open", "");
      form.elements.note.focus();
      return;
    }
    if (event.target.closest("[data-wb-note-cancel]") && dialog) {
      event.preventDefault();
      dialog.close();
    }
  });

  root.querySelectorAll("form[data-wb-note]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var data = new FormData(form);
      var note = String(data.get("note") || "").trim();
      if (!note) {
        form.elements.note.focus();
        return;
      }
      var label = dialog && dialog.contains(form)
        ? (dialog.querySelector("[data-wb-note-title]").textContent || "")
        : (document.querySelector("h1") || {}).textContent || "";
      enqueue({
        client_id: form.hasAttribute("data-wb-note-inline") ? String(data.get("client_id") || "") || uuid() : uuid(),
        member_id: parseInt(data.get("member_id"), 10),
        task_id: data.get("task_id") ? parseInt(data.get("task_id"), 10) : null,
        kind: String(data.get("kind") || "note"),
        note: note,
        outcome: String(data.get("outcome") || ""),
        next_step: String(data.get("next_step") || ""),
        label: label.trim(),
      });
      form.reset();
      if (form.elements.client_id) form.elements.client_id.value = uuid();
      if (dialog && dialog.contains(form)) dialog.close();
    });
  });

  var search = root.querySelector("[data-wb-search]");
  if (search) {
    search.addEventListener("input", function () {
      if (navigator.onLine) return;
      var snapshot = load(SNAPSHOT_KEY, null);
      if (!snapshot) return;
      var q = search.querySelector("input").value;
      drawMembers((snapshot.members || []).filter(function (m) {
        return matches(m, q);
      }));
    });
    search.addEventListener("submit", function (event) {
      if (!navigator.onLine) event.preventDefault();
    });
    // offline, htmx must not try the network for the search
    search.addEventListener("htmx:beforeRequest", function (event) {
      if (!navigator.onLine) event.preventDefault();
    });
  }

  // a member card shows the new note in its list: read the card again once synced
  document.addEventListener("guides-workbench-synced", function () {
    if (root.hasAttribute("data-wb-member-card")) window.location.replace(window.location.pathname + "?saved=1");
  });

  // --- start ------------------------------------------------------------------------------

  window.addEventListener("online", showOnline);
  window.addEventListener("offline", showOffline);
  renderQueue();
  if (navigator.onLine) {
    refreshSnapshot();
    sync();
  } else {
    showOffline();
  }
  window.setInterval(sync, (config.syncSeconds || 30) * 1000);
  // a tablet left open all day keeps a fresh copy for when the network drops
  window.setInterval(refreshSnapshot, 5 * 60 * 1000);

  if ("serviceWorker" in navigator && config.serviceWorker) {
    navigator.serviceWorker.register(config.serviceWorker, { scope: config.scope }).catch(function () {});
  }
})();
