// A local stand-in for Shopify's App Bridge (cdn.shopify.com/shopifycloud/app-bridge.js), for
// the development admin (/dev/admin, APP_ENV=development only) and for the browser tests, which
// serve it in place of the CDN script. It does what the screens use of the real one:
//   - window.shopify.idToken() and a fetch() that adds `Authorization: Bearer <session token>`
//     to the app's own requests, fetching a new token once when the app answers 401 with
//     X-Shopify-Retry-Invalid-Session-Request;
//   - the session-token bounce: a page opened with `shopify-reload` is reloaded there with a
//     fresh `id_token`;
//   - toasts, the save bar (<ui-save-bar>), the app navigation (<s-app-nav>) drawn in the page,
//     since there is no admin around it, and window.open(url, "_top") as a top-level redirect.
// Tokens: window.__SMSB_STANDIN__.token when the page set one (tests), else minted by the app
// for the demo shop at /dev/admin/session-token.
(() => {
  "use strict";
  const preset = window.__SMSB_STANDIN__ || {};
  const nativeFetch = window.fetch.bind(window);
  const nativeOpen = window.open ? window.open.bind(window) : null;
  let cached = preset.token ? { token: preset.token, expires: Infinity } : null;

  function expiry(token) {
    try {
      const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
      return payload.exp * 1000;
    } catch {
      return 0;
    }
  }

  async function idToken(fresh = false) {
    if (preset.token) return preset.token;
    if (!fresh && cached && cached.expires - 10000 > Date.now()) return cached.token;
    const response = await nativeFetch(preset.tokenUrl || "/dev/admin/session-token", { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) {
      toastShow((body.error && body.error.message) || "No session token.", { isError: true });
      throw new Error("no session token");
    }
    cached = { token: body.token, expires: expiry(body.token) };
    return body.token;
  }

  function ownRequest(input) {
    const url = new URL(typeof input === "string" ? input : input.url, location.href);
    return url.origin === location.origin;
  }

  async function appFetch(input, init = {}) {
    if (!ownRequest(input)) return nativeFetch(input, init);
    const send = async (fresh) => {
      const headers = new Headers(init.headers || (input instanceof Request ? input.headers : undefined));
      if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${await idToken(fresh)}`);
      return nativeFetch(input, { ...init, headers });
    };
    const response = await send(false);
    if (response.status === 401 && response.headers.get("X-Shopify-Retry-Invalid-Session-Request") === "1" && !preset.token) {
      return send(true);
    }
    return response;
  }

  // Toasts: one polite live region, newest last.
  function toastRegion() {
    let region = document.getElementById("standin-toasts");
    if (!region) {
      region = document.createElement("div");
      region.id = "standin-toasts";
      region.className = "standin-toasts";
      region.setAttribute("role", "status");
      region.setAttribute("aria-live", "polite");
      document.body.append(region);
    }
    return region;
  }

  function toastShow(message, options = {}) {
    const item = document.createElement("p");
    item.className = options.isError ? "standin-toast standin-toast-error" : "standin-toast";
    item.textContent = message;
    toastRegion().append(item);
    setTimeout(() => item.remove(), options.duration || 5000);
    return String(Date.now());
  }

  const saveBar = {
    show(id) {
      const bar = document.getElementById(id);
      if (bar) bar.setAttribute("data-open", "");
      return Promise.resolve();
    },
    hide(id) {
      const bar = document.getElementById(id);
      if (bar) bar.removeAttribute("data-open");
      return Promise.resolve();
    },
    toggle(id) {
      const bar = document.getElementById(id);
      return bar && bar.hasAttribute("data-open") ? this.hide(id) : this.show(id);
    },
    leaveConfirmation() {
      return Promise.resolve();
    },
  };

  // <ui-save-bar>: its buttons shown in a labelled region while open, hidden otherwise.
  class SaveBar extends HTMLElement {
    connectedCallback() {
      this.setAttribute("role", "region");
      this.setAttribute("aria-label", "Unsaved changes");
    }
  }

  // <s-app-nav>: the links as a visible navigation bar (the admin draws them in its sidebar).
  class AppNav extends HTMLElement {
    connectedCallback() {
      // Upgraded as the parser opens the tag: its links arrive after, so draw once parsed.
      if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => this.draw(), { once: true });
      else this.draw();
    }

    draw() {
      if (this.shadowRoot) return;
      const root = this.attachShadow({ mode: "open" });
      const nav = document.createElement("nav");
      nav.setAttribute("aria-label", "SMS Blossom");
      const style = document.createElement("style");
      style.textContent = "nav{display:flex;gap:1rem;padding:.5rem 1rem;border-bottom:1px solid #ccc;font:14px system-ui}a{color:#005bd3}a[aria-current]{font-weight:650;color:#303030}";
      for (const link of this.querySelectorAll("s-link, a")) {
        const anchor = document.createElement("a");
        anchor.href = window.smsbCarry ? window.smsbCarry(link.getAttribute("href")) : link.getAttribute("href");
        anchor.textContent = link.textContent;
        const target = new URL(anchor.href, location.href).pathname;
        if (target === location.pathname || (link.getAttribute("rel") !== "home" && location.pathname.startsWith(`${target}/`))) {
          anchor.setAttribute("aria-current", "page");
        }
        nav.append(anchor);
      }
      root.append(style, nav);
    }
  }

  const reload = new URLSearchParams(location.search).get("shopify-reload");

  window.shopify = {
    config: { apiKey: document.querySelector('meta[name="shopify-api-key"]')?.content, locale: document.documentElement.lang },
    environment: { embedded: false, mobile: false },
    idToken: () => idToken(false),
    toast: { show: toastShow, hide() {} },
    saveBar,
    loading() {},
    standin: true,
  };
  window.fetch = appFetch;
  if (nativeOpen) {
    window.open = (url, target, features) => {
      if (target === "_top" || target === "_parent") {
        window.top.location.assign(url);
        return null;
      }
      return nativeOpen(url, target, features);
    };
  }
  if (!customElements.get("ui-save-bar")) customElements.define("ui-save-bar", SaveBar);
  if (!customElements.get("s-app-nav")) customElements.define("s-app-nav", AppNav);

  const style = document.createElement("style");
  style.textContent =
    "ui-save-bar{display:none}ui-save-bar[data-open]{display:flex;gap:.5rem;position:sticky;top:0;z-index:10;padding:.5rem 1rem;background:#1a1a1a;color:#fff}" +
    ".standin-toasts{position:fixed;bottom:1rem;left:50%;transform:translateX(-50%);z-index:20;font:14px system-ui}" +
    ".standin-toast{margin:.25rem 0;padding:.5rem 1rem;border-radius:.5rem;background:#1a1a1a;color:#fff}.standin-toast-error{background:#8e1f0b}";
  document.head.append(style);

  if (reload) {
    idToken(true).then((token) => {
      const target = new URL(reload, location.origin);
      if (target.origin !== location.origin) return;
      target.searchParams.set("id_token", token);
      location.replace(target.toString());
    });
  }
})();
