/* Service worker: offline app shell, runtime and Hub configs.
 *
 * build.py replaces the BUILD object below with this build's asset manifest
 * (logical name -> {path, sha256, size}) and a version derived from it, so every
 * deploy ships a byte-different sw.js: the browser installs it, it fills a cache
 * named after the version, and on activation deletes every other version's cache.
 * Nothing is ever stored unless its SHA-256 matches the manifest, so an old SW
 * never caches a new deploy's files (and vice versa): old never mixes with new.
 *
 * Strategies
 *   pages (index.html, embed.html)   network first (3 s), cached copy when offline
 *   hashed assets in the manifest    cache first; filled by the page's own fetches
 *   Hub configs and model API        stale-while-revalidate in a cache that outlives deploys
 *   anything else                    not touched (plain network)
 *
 * First visit: install precaches only the small files. The large runtime files
 * (pyodide.asm.wasm, python_stdlib.zip, ...) are being downloaded by the page at the
 * same moment; fetching them here too would double the first download. Instead the
 * page sends {type: "fill"} once Python is up, and the SW copies them from the
 * browser's HTTP cache (they are immutable, so no network round trip).
 */
/* eslint-env serviceworker */
"use strict";

const BUILD = /*BUILD*/ { version: "dev", assets: {} } /*END BUILD*/;

const PREFIX = "llm-mem-";
const CACHE = `${PREFIX}app-${BUILD.version}`;
const HUB_CACHE = `${PREFIX}hub-v1`;
const HUB_MAX_ENTRIES = 400;
const PRECACHE_MAX_BYTES = 300 * 1024; // larger files are filled from the page's fetches
const PAGE_TIMEOUT_MS = 3000;
const HUB_HOSTS = /^(huggingface\.co|[a-z0-9-]+\.huggingface\.co|[a-z0-9.-]+\.hf\.co)$/i;

const scope = self.registration.scope; // ends with "/"
/** absolute URL -> manifest entry (with .name) */
const ASSETS = new Map();
for (const [name, entry] of Object.entries(BUILD.assets)) {
  ASSETS.set(new URL(entry.path, scope).href, { ...entry, name });
}
const PAGES = new Map([
  [scope, "index.html"],
  [new URL("index.html", scope).href, "index.html"],
  [new URL("embed.html", scope).href, "embed.html"],
]);

/** This version's cache, or null once a newer version's activation deleted it
 *  (caches.open would silently re-create it: an old SW must not do that). */
async function ownCache() {
  return (await caches.has(CACHE)) ? caches.open(CACHE) : null;
}

/** Delete the caches of every other app version. */
async function dropOtherVersions() {
  for (const name of await caches.keys()) {
    if (name.startsWith(PREFIX) && name !== CACHE && name !== HUB_CACHE) await caches.delete(name);
  }
}

async function sha256Hex(buffer) {
  const digest = await crypto.subtle.digest("SHA-256", buffer);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Store `response` for `url` only if its bytes are the ones this build lists. */
async function putVerified(cache, url, response) {
  const entry = ASSETS.get(url);
  if (!cache || !entry || !response || response.status !== 200 || response.type === "opaque") return false;
  const body = await response.arrayBuffer();
  if ((await sha256Hex(body)) !== entry.sha256) return false; // another deploy's file
  const headers = new Headers(response.headers);
  headers.delete("content-encoding");
  headers.delete("content-length");
  await cache.put(url, new Response(body, { status: 200, statusText: "OK", headers }));
  return true;
}

async function precache() {
  const cache = await caches.open(CACHE);
  const small = [...ASSETS.entries()].filter(
    ([, e]) => e.size <= PRECACHE_MAX_BYTES || e.name.endsWith(".html"));
  for (const [url] of small) {
    if (await cache.match(url)) continue;
    // default cache mode: an immutable asset the page just loaded comes from the HTTP cache
    const response = await fetch(url);
    if (!(await putVerified(cache, url, response))) {
      throw new Error(`sw: ${url} does not match this build; not installing`);
    }
  }
}

/** Copy every manifest file missing from the cache (from the HTTP cache when possible). */
async function fill() {
  const cache = await ownCache();
  if (!cache) return { complete: false, missing: ASSETS.size, version: BUILD.version, stale: true };
  await dropOtherVersions(); // strays an old SW may have re-created while being replaced
  let missing = 0;
  for (const url of ASSETS.keys()) {
    if (await cache.match(url)) continue;
    try {
      if (!(await putVerified(cache, url, await fetch(url)))) missing += 1;
    } catch (err) {
      missing += 1;
    }
  }
  return { complete: missing === 0, missing, version: BUILD.version };
}

self.addEventListener("install", (event) => {
  self.skipWaiting();
  event.waitUntil(precache());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    await dropOtherVersions();
    await self.clients.claim();
  })());
});

self.addEventListener("message", (event) => {
  const data = event.data || {};
  if (data.type === "fill") {
    const reply = (msg) => event.source && event.source.postMessage({ type: "sw:filled", ...msg });
    event.waitUntil(fill().then(reply, (err) => reply({ complete: false, error: String(err) })));
  } else if (data.type === "version") {
    event.source && event.source.postMessage({ type: "sw:version", version: BUILD.version });
  }
});

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function pageResponse(event, name) {
  const url = new URL(name, scope).href;
  const cache = await ownCache();
  try {
    const response = await Promise.race([fetch(event.request), timeout(PAGE_TIMEOUT_MS)]);
    if (response.status === 200) {
      // keep the copy only if it is this build's page (a newer deploy is served, not stored)
      event.waitUntil(putVerified(cache, url, response.clone()).catch(() => false));
    }
    return response;
  } catch (err) {
    const cached = cache && await cache.match(url);
    if (cached) return cached;
    throw err;
  }
}

async function assetResponse(event, url) {
  const cache = await ownCache();
  const cached = cache && await cache.match(url);
  if (cached) return cached;
  const response = await fetch(event.request);
  if (response.status === 200) {
    event.waitUntil(putVerified(cache, url, response.clone()).catch(() => false));
  }
  return response;
}

function isHubFile(url) {
  return /^\/api\/models\/[^?]+/.test(url.pathname) || /\/resolve\//.test(url.pathname);
}

async function trimHubCache(cache) {
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - HUB_MAX_ENTRIES; i += 1) await cache.delete(keys[i]);
}

async function hubResponse(event) {
  const request = event.request;
  const cache = await caches.open(HUB_CACHE);
  // Requests carrying a token (gated/private repos) are never stored.
  const storable = !request.headers.has("authorization");
  const network = fetch(request).then(async (response) => {
    // 404 is an answer too (an absent optional file): replay it offline
    if (storable && (response.status === 200 || response.status === 404) &&
        response.type !== "opaque") {
      await cache.delete(request.url);
      await cache.put(request.url, response.clone());
      await trimHubCache(cache);
    }
    return response;
  });
  const cached = storable ? await cache.match(request.url) : undefined;
  if (cached) {
    event.waitUntil(network.catch(() => undefined)); // revalidate in the background
    return cached;
  }
  return network;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin === self.location.origin) {
    const clean = url.origin + url.pathname;
    if (request.mode === "navigate" && PAGES.has(clean)) {
      event.respondWith(pageResponse(event, PAGES.get(clean)));
    } else if (ASSETS.has(clean) && !url.search) {
      event.respondWith(assetResponse(event, clean));
    }
    return; // anything else: plain network
  }
  if (HUB_HOSTS.test(url.hostname) && isHubFile(url)) {
    event.respondWith(hubResponse(event));
  }
});
