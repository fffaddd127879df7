// Spend controls: the low-balance / auto-recharge banners (home and billing) and the billing
// page's "Spend controls" form (GET/PATCH /api/billing/spend-controls).
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { money, number } from "./format.js";
import { placeErrors } from "./forms.js";
import { appUrl } from "./nav.js";
import { clearFieldErrors, showError, toast } from "./ui.js";

// Banners for the open alerts and this cycle's automation texts skipped for credits.
// `where` is "home" (links to Billing) or "billing" (the page itself).
export function spendBanners({ alerts = [], automation_skips: skips = 0 }, { where = "home", usageCap } = {}) {
  const link = where === "home" ? h("s-link", { href: appUrl("/billing") }, "Go to Billing") : null;
  const banners = alerts.map((alert) => {
    if (alert.kind === "recharge_paused") {
      const cap = usageCap ? ` (${money(usageCap.used, "USD")} of ${money(usageCap.cap, "USD")} used)` : "";
      return h(
        "s-banner",
        { tone: "warning", heading: "Auto-recharge paused: usage cap reached" },
        h("s-paragraph", {}, `Buying more credits would pass this cycle's usage cap${cap}. Auto-recharge resumes next cycle, or once you raise the cap in Spend controls; a credit pack works too. `, link),
      );
    }
    return h(
      "s-banner",
      { tone: "warning", heading: "Your SMS credits are running low" },
      h("s-paragraph", {}, `${number(alert.balance)} credits left, below your alert at ${number(alert.threshold)}. When they run out, campaigns cannot launch and automation texts are skipped. `, link),
    );
  });
  if (skips > 0) {
    banners.push(
      h(
        "s-banner",
        { tone: "critical", heading: "Automation texts were skipped" },
        h("s-paragraph", {}, `${number(skips)} automation ${skips === 1 ? "text was" : "texts were"} skipped this billing cycle for lack of credits or your spend cap. `, where === "home" ? h("s-link", { href: appUrl("/automations") }, "See automations") : null),
      ),
    );
  }
  return banners;
}

function whole(value) {
  const text = String(value ?? "").trim();
  if (text === "") return null;
  return /^\d+$/.test(text) ? Number(text) : text; // anything else goes as typed: the API says what is wrong
}

// The form; `onSaved(controls)` gets the API's answer after a save.
export function spendForm(controls, packs, { onSaved } = {}) {
  const settings = controls.settings;
  const rule = settings.auto_recharge;
  const errorId = "spend-form-error";
  const threshold = h("s-number-field", {
    label: "Alert me when credits fall below",
    name: "low_balance_threshold",
    min: 1,
    value: settings.low_balance_threshold ?? "",
    details: "A banner here and on Home, and one email to your store's contact address each time the balance falls below. Empty: no alert.",
  });
  const cap = h("s-number-field", {
    label: "Spend at most this many credits per billing cycle",
    name: "spend_cap_per_cycle",
    min: 1,
    value: settings.spend_cap_per_cycle ?? "",
    details: `No campaign or automation text may pass it. This cycle: ${number(controls.committed_this_cycle)} spent or held. Empty: no cap.`,
  });
  const enabled = h("s-checkbox", {
    label: "Buy credits automatically when they run low",
    name: "enabled",
    "data-field": "auto_recharge.enabled",
    checked: rule.enabled,
    ".checked": rule.enabled,
    disabled: !controls.auto_recharge_available && !rule.enabled,
    details: controls.auto_recharge_available
      ? `Charged on your plan's usage charges, never past its cap of ${money(controls.usage_cap.cap, "USD")} a cycle.`
      : "Needs the Starter or Growth plan (their usage charges pay for it).",
  });
  const pack = h(
    "s-select",
    { label: "Credit pack to buy", name: "pack", "data-field": "auto_recharge.pack", value: rule.pack },
    packs.map((item) => h("s-option", { value: item.pack }, `${number(item.credits)} credits for ${money(item.price, "USD")}`)),
  );
  pack.value = rule.pack;
  const below = h("s-number-field", { label: "Buy when credits fall below", name: "when_below", "data-field": "auto_recharge.when_below", min: 1, value: rule.when_below });
  const save = h("s-button", { variant: "primary", type: "submit" }, "Save spend controls");
  const form = h("form", { novalidate: true, "aria-label": "Spend controls" }, h("div", { id: errorId }), threshold, cap, enabled, h("div", { class: "field-row" }, pack, below), save);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(errorId);
    clearFieldErrors(form);
    const body = {
      low_balance_threshold: whole(threshold.value),
      spend_cap_per_cycle: whole(cap.value),
      auto_recharge: { enabled: Boolean(enabled.checked), pack: String(pack.value), when_below: whole(below.value) },
    };
    save.setAttribute("loading", "");
    try {
      const saved = await api("/billing/spend-controls", { method: "PATCH", body });
      toast("Spend controls saved");
      onSaved?.(saved);
    } catch (error) {
      if (error.status === 422) {
        const rest = placeErrors(form, error);
        fill(errorId, h("s-banner", { tone: "critical", heading: "Spend controls were not saved" }, h("s-paragraph", {}, rest || "Fix the fields marked below, then save again.")));
      } else {
        showError(errorId, error, { heading: "Spend controls were not saved" });
      }
    } finally {
      save.removeAttribute("loading");
    }
  });
  return form;
}

// Ask Shopify for a higher usage cap; its confirmation page opens in the top window (App
// Bridge turns "_top" into an admin redirect). The cap applies once the merchant approves it.
export function usageCapForm(controls) {
  if (!controls.auto_recharge_available) return null;
  const errorId = "usage-cap-error";
  const amount = h("s-number-field", {
    label: "New usage cap per cycle (USD)",
    name: "capped_amount",
    min: 1,
    details: `Now ${money(controls.usage_cap.cap, "USD")}, of which ${money(controls.usage_cap.used, "USD")} used this cycle. Extra credits and auto-recharge are charged up to it; Shopify asks you to approve a raise.`,
  });
  const ask = h("s-button", { type: "submit" }, "Raise the usage cap");
  const form = h("form", { novalidate: true, "aria-label": "Usage cap" }, h("div", { id: errorId }), amount, ask);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    fill(errorId);
    clearFieldErrors(form);
    ask.setAttribute("loading", "");
    try {
      const answer = await api("/billing/usage-cap", { method: "POST", body: { capped_amount: String(amount.value ?? "") } });
      window.open(answer.confirmation_url, "_top");
    } catch (error) {
      if (error.status === 422) placeErrors(form, error);
      else showError(errorId, error, { heading: "Shopify could not start the change" });
      ask.removeAttribute("loading");
    }
  });
  return form;
}
