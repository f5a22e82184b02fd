/* The coupon counter's service worker, served at /promotions/counter/sw.js
 * (promotions.views.counter prepends self.COUNTER_SHELL = {version, page, pack, static} and
 * js/sw-common.js),
 * so its scope is the counter page. With the store's network down the counter still opens:
 * - the page (any ?store=) and the pack: network first, the cached copy when it fails;
 * - the page's static files: cache first.
 * POSTs (redeem, sync, blocks) are never cached: the page queues them itself.
 */
/* global self, caches, fetch, URL */
"use strict";

var SHELL = self.COUNTER_SHELL || { version: "counter-v1", page: "./", pack: "pack.json", static: [] };
var CACHE = "tiandi-counter-" + SHELL.version;

var SW = self.TiandiSW;

self.addEventListener("install", function (event) {
  event.waitUntil(
    SW.precache(CACHE, SHELL.static).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    SW.dropOtherCaches("tiandi-counter-", CACHE).then(function () {
      return self.clients.claim();
    })
  );
});

/* The page tells its own address (with its ?store=) once the worker is ready: the visit that
 * installed the worker was not seen by it, and must open offline all the same. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (!data.cachePage) return;
  var url = new URL(data.cachePage, self.location);
  if (url.origin !== self.location.origin) return;
  event.waitUntil(
    caches.open(CACHE).then(function (cache) {
      return fetch(url.href, { credentials: "same-origin" }).then(function (response) {
        if (response.ok && !response.redirected) return cache.put(url.href, response);
        return null;
      });
    }).catch(function () {})
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var page = new URL(SHELL.page, self.location).pathname;
  var pack = new URL(SHELL.pack, self.location).pathname;
  if (url.pathname === pack || (request.mode === "navigate" && url.pathname === page)) {
    event.respondWith(SW.networkFirst(CACHE, request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(SW.cacheFirst(CACHE, request));
  }
});
