// The segment editor's commerce filters (shopify_app/schemas/commerce_filters.py): what contacts
// ordered, spent, bought, clicked and received. Rows like the editor's others: field, condition,
// value; each condition is one of the API's filter keys.
import { h } from "./dom.js";

const AT_LEAST_MOST = (key) => [[`${key}_min`, "at least"], [`${key}_max`, "at most"]];

export const COMMERCE_FIELDS = {
  orders: { label: "Number of orders", conditions: AT_LEAST_MOST("orders"), value: "count" },
  total_spent: { label: "Total spent", conditions: AT_LEAST_MOST("total_spent"), value: "money" },
  aov: { label: "Average order value", conditions: AT_LEAST_MOST("aov"), value: "money" },
  last_order_days: {
    label: "Last order (days ago)",
    conditions: [["last_order_within_days", "within the last"], ["last_order_older_than_days", "more than"]],
    value: "days",
  },
  products: { label: "Products bought", conditions: [["products_any", "include any of"]], value: "products" },
  discount_codes: { label: "Discount code used", conditions: [["discount_codes_any", "is any of"]], value: "codes" },
  clicked_days: { label: "Clicked a link (days)", conditions: [["clicked_within_days", "within the last"]], value: "days" },
  received_days: { label: "Received a text (days)", conditions: [["received_within_days", "within the last"]], value: "days" },
};

export const COMMERCE_KINDS = { count: true, money: true, days: true, products: true, codes: true };

const DETAILS = {
  count: "A whole number of orders.",
  money: "An amount in your store's currency, e.g. 50 or 49.90.",
  days: "A number of days, 1 to 3650.",
  products: "Product ids separated by commas; find them by title below.",
  codes: "Discount codes separated by commas, in any case.",
};

// The value control for a commerce kind, or null for the editor's own kinds.
export function commerceValueControl(kind, common, value) {
  if (!(kind in COMMERCE_KINDS)) return null;
  if (kind === "count" || kind === "days") return h("s-number-field", { ...common, value, min: kind === "days" ? 1 : 0, step: 1, details: DETAILS[kind] });
  if (kind === "money") return h("s-number-field", { ...common, value, min: 0, step: 0.01, details: DETAILS[kind] });
  return h("s-text-field", { ...common, value, details: DETAILS[kind] });
}

// The API value of a row's raw text: numbers as JSON numbers; anything else is sent as typed,
// so the API's 422 names the row's field instead of the editor guessing.
export function commerceValue(kind, raw) {
  const whole = (text) => (/^\d+$/.test(text) ? Number(text) : text);
  if (kind === "count" || kind === "days") return whole(raw);
  if (kind === "money") return raw;
  const items = raw.split(",").map((item) => item.trim()).filter(Boolean);
  return kind === "products" ? items.map(whole) : items;
}
