/* The coupon counter's service worker, served at /promotions/counter/sw.js
 * (promotions.views.counter prepends self.COUNTER_SHELL = {version, page, pack, static}),
 * so its scope is the counter page. With the store's network down the counter still opens:
 * - the page (any ?store=) and the pack: network first, the cached copy when it fails;
 * - the page's static files: cache first.
 * POSTs (redeem, sync, blocks) are never cached: the page queues them itself.
 */
/* global self, caches, fetch, URL */
"use strict";

var SHELL = self.COUNTER_SHELL || { version: "counter-v1", page: "./", pack: "pack.json", static: [] };
var CACHE = "tiandi-counter-" + SHELL.version;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return Promise.all(
          SHELL.static.map(function (url) {
            return cache.add(url).catch(function () {}); // best effort: runtime caching fills gaps
          })
        );
      })
      .then(function () {
        return self.skipWaiting();
      })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    caches
      .keys()
      .then(function (names) {
        return Promise.all(
          names
            .filter(function (name) {
              return name.indexOf("tiandi-counter-") === 0 && name !== CACHE;
            })
            .map(function (name) {
              return caches.delete(name);
            })
        );
      })
      .then(function () {
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

function networkFirst(request) {
  return fetch(request)
    .then(function (response) {
      // only real pages: a redirect to the login page is not the counter
      if (response.ok && !response.redirected) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) {
          cache.put(request, copy);
        });
      }
      return response;
    })
    .catch(function (error) {
      return caches.open(CACHE).then(function (cache) {
        return cache
          .match(request, { ignoreVary: true })
          .then(function (exact) {
            return exact || cache.match(request, { ignoreVary: true, ignoreSearch: true });
          })
          .then(function (hit) {
            if (!hit) throw error;
            return hit;
          });
      });
    });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        if (response.ok) cache.put(request, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var page = new URL(SHELL.page, self.location).pathname;
  var pack = new URL(SHELL.pack, self.location).pathname;
  if (url.pathname === pack || (request.mode === "navigate" && url.pathname === page)) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});
