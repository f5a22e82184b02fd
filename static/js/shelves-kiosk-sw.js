/* The kiosk's service worker, served at /shelf/<token>/sw.js (shelves.views.kiosk prepends
 * self.KIOSK_SHELL = {version, page, payload, static: [...]}), so its scope is the screen's
 * page. With the network cut the page keeps rotating what it has:
 * - the page and its payload: network first, the cached copy when the network fails
 *   (a payload served from the cache carries X-Kiosk-From-Cache: 1);
 * - static files, QR codes (SVG) and product images: cache first.
 * Heartbeats (POST) are never cached.
 */
/* global self, caches, fetch, Response, URL */
"use strict";

var SHELL = self.KIOSK_SHELL || { version: "kiosk-v1", page: "./", payload: "payload.json", static: [] };
var CACHE = "tiandi-kiosk-" + SHELL.version;

/* Every QR code and product image a payload lists goes into the cache as soon as the payload
 * is seen, so a page reloaded offline still has them all (not only the cards shown so far). */
function warm(payloadResponse) {
  return payloadResponse
    .json()
    .then(function (payload) {
      var urls = [];
      (payload.items || []).forEach(function (item) {
        if (item.qr) urls.push(new Request(item.qr));
        if (item.image_url) urls.push(new Request(item.image_url, { mode: "no-cors" }));
      });
      return caches.open(CACHE).then(function (cache) {
        return Promise.all(
          urls.map(function (request) {
            return cache.match(request, { ignoreVary: true }).then(function (hit) {
              if (hit) return null;
              return fetch(request)
                .then(function (response) {
                  if (response.ok || response.type === "opaque") return cache.put(request, response);
                  return null;
                })
                .catch(function () {});
            });
          })
        );
      });
    })
    .catch(function () {});
}

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches
      .open(CACHE)
      .then(function (cache) {
        return Promise.all(
          [SHELL.page].concat(SHELL.static).map(function (url) {
            return cache.add(url).catch(function () {}); // best effort: runtime caching fills gaps
          })
        ).then(function () {
          return fetch(SHELL.payload)
            .then(function (response) {
              if (!response.ok) return null;
              return cache.put(SHELL.payload, response.clone()).then(function () {
                return warm(response);
              });
            })
            .catch(function () {});
        });
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
              return name.indexOf("tiandi-kiosk-") === 0 && name !== CACHE;
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

function networkFirst(request, isPayload) {
  return fetch(request)
    .then(function (response) {
      if (response.ok) {
        var copy = response.clone();
        caches.open(CACHE).then(function (cache) {
          cache.put(request, copy);
        });
        if (isPayload) warm(response.clone());
      }
      return response;
    })
    .catch(function (error) {
      return caches.open(CACHE).then(function (cache) {
        return cache.match(request, { ignoreVary: true }).then(function (exact) {
          // the page may be opened as /shelf/<token>/?lang=...: any cached copy of it will do
          return exact || (isPayload ? null : cache.match(request, { ignoreVary: true, ignoreSearch: true }));
        }).then(function (hit) {
          if (!hit) throw error;
          if (!isPayload) return hit;
          return hit.blob().then(function (body) {
            var headers = new Headers(hit.headers);
            headers.set("X-Kiosk-From-Cache", "1");
            return new Response(body, { status: 200, headers: headers });
          });
        });
      });
    });
}

function cacheFirst(request) {
  return caches.open(CACHE).then(function (cache) {
    return cache.match(request, { ignoreVary: true }).then(function (hit) {
      if (hit) return hit;
      return fetch(request).then(function (response) {
        // opaque (cross-origin image) responses are cached too: status 0
        if (response.ok || response.type === "opaque") cache.put(request, response.clone());
        return response;
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  var sameOrigin = url.origin === self.location.origin;
  if (sameOrigin && url.pathname.indexOf("/ws/") === 0) return;
  if (sameOrigin && url.pathname === new URL(SHELL.payload, self.location).pathname) {
    event.respondWith(networkFirst(request, true));
  } else if (request.mode === "navigate") {
    event.respondWith(networkFirst(request, false));
  } else if (sameOrigin && (url.pathname.indexOf("/static/") === 0 || /\/qr\/\d+\.svg$/.test(url.pathname))) {
    event.respondWith(cacheFirst(request));
  } else if (request.destination === "image") {
    event.respondWith(cacheFirst(request));
  }
});
