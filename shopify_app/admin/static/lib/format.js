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

// --- schedules in the shop's time zone (appended for the campaign composer) -------------------

// The shop's IANA time zone (GET /api/shop), or the browser's when the shop has none.
export function shopTimeZone() {
  return shop.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

// Wall-clock fields of an instant in `timeZone`: {year, month, day, hour, minute}.
function wallClock(instant, timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone,
    hourCycle: "h23",
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
  }).formatToParts(new Date(instant));
  const field = (type) => Number(parts.find((part) => part.type === type).value);
  return { year: field("year"), month: field("month"), day: field("day"), hour: field("hour"), minute: field("minute"), second: field("second") };
}

function offsetAt(instant, timeZone) {
  const wall = wallClock(instant, timeZone);
  return Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute, wall.second) - Math.floor(instant / 1000) * 1000;
}

// "2026-03-01" + "09:30" read in the shop's time zone -> the UTC instant as ISO 8601 ("...Z"),
// what the API's AwareDateTime fields take. Across a DST change the offset is taken again at
// the result (a time skipped by the change lands after it).
export function zonedToIso(dateText, timeText, timeZone = shopTimeZone()) {
  const [year, month, day] = String(dateText).split("-").map(Number);
  const [hour, minute] = String(timeText).split(":").map(Number);
  if (![year, month, day, hour, minute].every(Number.isFinite)) return null;
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const first = wall - offsetAt(wall, timeZone);
  const instant = wall - offsetAt(first, timeZone);
  return new Date(instant).toISOString();
}

// An ISO instant as {date: "YYYY-MM-DD", time: "HH:MM"} on the shop's wall clock.
export function zonedParts(iso, timeZone = shopTimeZone()) {
  const wall = wallClock(new Date(iso).getTime(), timeZone);
  const pad = (value) => String(value).padStart(2, "0");
  return { date: `${wall.year}-${pad(wall.month)}-${pad(wall.day)}`, time: `${pad(wall.hour)}:${pad(wall.minute)}` };
}

// "09:30" as the admin user's language writes a time of day ("9:30 AM", "09:30").
export function timeOfDay(text) {
  const [hour, minute] = text.split(":").map(Number);
  return new Intl.DateTimeFormat(locale(), { hour: "numeric", minute: "2-digit", timeZone: "UTC" }).format(Date.UTC(2000, 0, 1, hour, minute));
}

// The instant a calendar day ("2026-03-01", a date field's value) starts in the shop's time
// zone, as ISO 8601 UTC for the API; "" for "".
export function startOfDay(day) {
  return day ? zonedToIso(day, "00:00") : "";
}

// The calendar day ("2026-03-01") an ISO instant falls on in the shop's time zone.
export function dayOf(iso) {
  return iso ? zonedParts(iso).date : "";
}
