// Links inside the app keep the parameters the admin gave the page (shop, host, locale,
// embedded), and the development admin's /dev/admin prefix.
const CARRIED = ["shop", "host", "locale", "embedded"];

export function base() {
  return document.body.dataset.base || "";
}

export function appUrl(path, query = {}) {
  const url = new URL(base() + path, location.origin);
  const current = new URLSearchParams(location.search);
  for (const name of CARRIED) if (current.has(name)) url.searchParams.set(name, current.get(name));
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== "") url.searchParams.set(key, value);
  return url.pathname + url.search;
}

export function go(path, query) {
  location.assign(appUrl(path, query));
}

// The id in the page's own path, e.g. 12 in /campaigns/12.
export function pathId(position = -1) {
  const parts = location.pathname.split("/").filter(Boolean);
  const value = Number(parts.at(position));
  return Number.isInteger(value) ? value : null;
}

window.smsbCarry = (href) => (href && href.startsWith("/") ? appUrl(href.slice(base().length) || "/") : href);
