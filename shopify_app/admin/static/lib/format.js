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
