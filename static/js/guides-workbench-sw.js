/* The guide workbench's service worker, served at /guides/sw.js
 * (guides.views.workbench prepends self.WORKBENCH_SHELL = {version, page, snapshot, static}),
 * so its scope is /guides/. With the store's network down the workbench still opens:
 * - the workbench page, member cards already opened and the snapshot: network first, the
 *   cached copy when the network fails;
 * - the page's static files: cache first.
 * Other /guides/ pages and every POST pass through untouched: the page queues notes itself.
 */
/* global self, caches, fetch, URL */
"use strict";

var SHELL = self.WORKBENCH_SHELL || { version: "workbench-v1", page: "./", snapshot: "offline/snapshot/", static: [] };
var CACHE = "tiandi-workbench-" + SHELL.version;

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return Promise.all(
          SHELL.static.concat([SHELL.page]).map(function (url) {
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
              return name.indexOf("tiandi-workbench-") === 0 && name !== CACHE;
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

function networkFirst(request) {
  return fetch(request)
    .then(function (response) {
      // only real pages: a redirect to the login page is not the workbench
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
  var snapshot = new URL(SHELL.snapshot, self.location).pathname;
  var isCard = /\/members\/\d+\/$/.test(url.pathname) && url.pathname.indexOf(page) === 0;
  if (url.pathname === snapshot || (request.mode === "navigate" && (url.pathname === page || isCard))) {
    event.respondWith(networkFirst(request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(cacheFirst(request));
  }
});
