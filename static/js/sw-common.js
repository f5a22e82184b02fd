/* What the page-scoped service workers share (the coupon counter's, the guide workbench's):
 * served before each worker's own script by retail.serviceworker.worker_response.
 * self.TiandiSW = {precache, dropOtherCaches, networkFirst, cacheFirst}. */
/* global self, caches, fetch */
"use strict";

self.TiandiSW = (function () {
  /* Best effort: a file that fails now is cached at run time when it is fetched. */
  function precache(cacheName, urls) {
    return caches.open(cacheName).then(function (cache) {
      return Promise.all(
        urls.map(function (url) {
          return cache.add(url).catch(function () {});
        })
      );
    });
  }

  /* The caches of older versions of this worker (same prefix, other name) go. */
  function dropOtherCaches(prefix, keep) {
    return caches.keys().then(function (names) {
      return Promise.all(
        names
          .filter(function (name) {
            return name.indexOf(prefix) === 0 && name !== keep;
          })
          .map(function (name) {
            return caches.delete(name);
          })
      );
    });
  }

  /* Pages and data: the network, its answer kept; the cached copy (any query string) when the
   * network fails. Only real pages are kept: a redirect to the login page is not the page. */
  function networkFirst(cacheName, request) {
    return fetch(request)
      .then(function (response) {
        if (response.ok && !response.redirected) {
          var copy = response.clone();
          caches.open(cacheName).then(function (cache) {
            cache.put(request, copy);
          });
        }
        return response;
      })
      .catch(function (error) {
        return caches.open(cacheName).then(function (cache) {
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

  /* Static files: the cached copy, else the network (and keep it). */
  function cacheFirst(cacheName, request) {
    return caches.open(cacheName).then(function (cache) {
      return cache.match(request, { ignoreVary: true }).then(function (hit) {
        if (hit) return hit;
        return fetch(request).then(function (response) {
          if (response.ok) cache.put(request, response.clone());
          return response;
        });
      });
    });
  }

  return { precache: precache, dropOtherCaches: dropOtherCaches, networkFirst: networkFirst, cacheFirst: cacheFirst };
})();
