/* The guide workbench's service worker, served at /guides/sw.js
 * (guides.views.workbench prepends self.WORKBENCH_SHELL = {version, page, snapshot, static} and
 * js/sw-common.js),
 * so its scope is /guides/. With the store's network down the workbench still opens:
 * - the workbench page, member cards already opened and the snapshot: network first, the
 *   cached copy when the network fails;
 * - the page's static files: cache first.
 * Other /guides/ pages and every POST pass through untouched: the page queues notes itself.
 */
/* global self, URL */
"use strict";

var SHELL = self.WORKBENCH_SHELL || { version: "workbench-v1", page: "./", snapshot: "offline/snapshot/", static: [] };
var CACHE = "tiandi-workbench-" + SHELL.version;

var SW = self.TiandiSW;

self.addEventListener("install", function (event) {
  event.waitUntil(
    SW.precache(CACHE, SHELL.static.concat([SHELL.page])).then(function () {
      return self.skipWaiting();
    })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(
    SW.dropOtherCaches("tiandi-workbench-", CACHE).then(function () {
      return self.clients.claim();
    })
  );
});

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") return;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  var page = new URL(SHELL.page, self.location).pathname;
  var snapshot = new URL(SHELL.snapshot, self.location).pathname;
  var isCard = /\/members\/\d+\/$/.test(url.pathname) && url.pathname.indexOf(page) === 0;
  if (url.pathname === snapshot || (request.mode === "navigate" && (url.pathname === page || isCard))) {
    event.respondWith(SW.networkFirst(CACHE, request));
  } else if (url.pathname.indexOf("/static/") === 0) {
    event.respondWith(SW.cacheFirst(CACHE, request));
  }
});
