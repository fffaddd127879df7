// Dates, numbers and money in the admin user's language (<html lang>, from the admin's
// `locale`) and the shop's time zone and currency (GET /api/shop).
let shop = { timezone: undefined, currency: "USD" };

export function useShop(profile) {
  shop = { ...shop, ...profile };
}

function locale() {
  return document.documentElement.lang || "en";
}

export function number(value) {
  return new Intl.NumberFormat(locale()).format(value ?? 0);
}

export function money(amount, currency = shop.currency) {
  const value = typeof amount === "string" ? Number(amount) : amount ?? 0;
  return new Intl.NumberFormat(locale(), { style: "currency", currency: currency || "USD" }).format(value);
}

export function percent(part, whole) {
  if (!whole) return new Intl.NumberFormat(locale(), { style: "percent" }).format(0);
  return new Intl.NumberFormat(locale(), { style: "percent", maximumFractionDigits: 1 }).format(part / whole);
}

export function dateTime(iso) {
  if (!iso) return "—";
  const options = { dateStyle: "medium", timeStyle: "short" };
  if (shop.timezone) options.timeZone = shop.timezone;
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

export function date(iso) {
  if (!iso) return "—";
  const options = { dateStyle: "medium" };
  if (shop.timezone) options.timeZone = shop.timezone;
  return new Intl.DateTimeFormat(locale(), options).format(new Date(iso));
}

function zoneParts(instant, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(instant);
  const value = Object.fromEntries(parts.map((part) => [part.type, part.value]));
  return value;
}

// The instant a calendar day ("2026-03-01", a date field's value) starts in the shop's time
// zone, as ISO 8601 UTC for the API; "" for "".
export function startOfDay(day) {
  if (!day) return "";
  const [year, month, dayOfMonth] = day.split("-").map(Number);
  const wanted = Date.UTC(year, month - 1, dayOfMonth);
  if (!shop.timezone) return new Date(wanted).toISOString();
  let guess = wanted;
  for (let step = 0; step < 3; step += 1) {
    const seen = zoneParts(new Date(guess), shop.timezone);
    const shown = Date.UTC(Number(seen.year), Number(seen.month) - 1, Number(seen.day), Number(seen.hour), Number(seen.minute), Number(seen.second));
    guess += wanted - shown;
  }
  return new Date(guess).toISOString();
}

// The calendar day ("2026-03-01") an ISO instant falls on in the shop's time zone.
export function dayOf(iso) {
  if (!iso) return "";
  const parts = zoneParts(new Date(iso), shop.timezone || "UTC");
  return `${parts.year}-${parts.month}-${parts.day}`;
}
