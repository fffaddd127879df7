// A/B tests of a campaign (PUT/DELETE/GET /api/campaigns/<id>/ab-test, POST .../ab-test/winner).
// The composer's section (`abTestEditor`): other bodies B-D beside the message (variant A), the
// share of the audience tested, the winning metric, the wait and who picks the winner. The
// campaign page's section (`abTestReport`): each variant's figures with the significance of the
// difference, and in a manual test "Send variant X to the rest". The API decides everything:
// the split, the statistics, the winner; these only show and ask.
import { api, ApiError } from "./api.js";
import { fill, h } from "./dom.js";
import { dateTime, money, number } from "./format.js";
import { busy, showError, toast, valueOf } from "./ui.js";

const LABELS = ["A", "B", "C", "D"];
const METRICS = { clicks: "Clicks", orders: "Attributed orders", revenue: "Revenue" };
const DEFAULTS = { test_share: 20, metric: "clicks", wait_hours: 4, decision: "auto" };

// --- the composer's section ------------------------------------------------------------------

// `container`: an element inside the composer's form (its inputs bubble to the form's listener).
export function abTestEditor(container, { bodyOf }) {
  let existed = false;
  const toggle = h("s-checkbox", { label: "A/B test this message", name: "ab_enabled", details: "Try up to four versions on part of the audience; the best one goes to the rest." });
  const variants = h("div", { class: "ab-variants" });
  const addButton = h("s-button", { onclick: () => addVariant("") }, "Add variant");
  const settings = h("div", { class: "inline-controls" });
  const panel = h("div", { hidden: true }, variants, addButton, settings);
  fill(container, toggle, panel);
  toggle.addEventListener("change", () => {
    panel.hidden = !toggle.checked;
    if (toggle.checked && !variants.children.length) addVariant("");
  });

  function addVariant(body) {
    const index = variants.children.length + 1; // 1 = B: A is the message itself
    if (index >= LABELS.length) return;
    const area = h("s-text-area", { label: `Variant ${LABELS[index]}`, name: `variants.${index}.body`, rows: 3, maxlength: 1600, value: body, ".value": body });
    const remove = h("s-button", { variant: "tertiary", onclick: () => removeVariant(row) }, `Remove variant ${LABELS[index]}`);
    const row = h("div", { class: "ab-variant" }, area, remove);
    variants.append(row);
    addButton.hidden = variants.children.length >= LABELS.length - 1;
  }

  function removeVariant(row) {
    const bodies = [...variants.querySelectorAll("s-text-area")].filter((area) => !row.contains(area)).map((area) => area.value || "");
    variants.replaceChildren();
    for (const body of bodies) addVariant(body);
    addButton.hidden = false;
    container.dispatchEvent(new Event("input", { bubbles: true })); // the estimate may change
  }

  function showSettings(test) {
    const select = (label, name, options, value) =>
      h("s-select", { label, name, value }, Object.entries(options).map(([key, text]) => h("s-option", { value: key, selected: key === value }, text)));
    settings.replaceChildren(
      h("s-number-field", { label: "Test share (%)", name: "test_share", min: 5, max: 50, value: test.test_share, details: "Split evenly among the variants; the rest waits for the winner." }),
      select("Winning metric", "metric", METRICS, test.metric),
      h("s-number-field", { label: "Wait (hours)", name: "wait_hours", min: 1, max: 48, value: test.wait_hours }),
      select("Winner", "decision", { auto: "Send the best one automatically", manual: "I will pick the winner" }, test.decision),
    );
  }

  async function load(campaignId) {
    let test = null;
    if (campaignId) {
      try {
        test = await api(`/campaigns/${campaignId}/ab-test`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    existed = Boolean(test);
    showSettings(test || DEFAULTS);
    variants.replaceChildren();
    for (const variant of test ? test.variants.slice(1) : []) addVariant(variant.body);
    toggle.checked = existed;
    panel.hidden = !existed;
  }

  // After the campaign itself was saved: its test saved too (or removed when turned off).
  async function save(campaignId) {
    if (!toggle.checked) {
      if (existed) await api(`/campaigns/${campaignId}/ab-test`, { method: "DELETE" });
      existed = false;
      return;
    }
    const body = {
      variants: [bodyOf(), ...[...variants.querySelectorAll("s-text-area")].map((area) => area.value || "")].map((text) => ({ body: text })),
      test_share: Number(valueOf(container, "test_share")),
      metric: valueOf(container, "metric"),
      wait_hours: Number(valueOf(container, "wait_hours")),
      decision: valueOf(container, "decision"),
    };
    try {
      await api(`/campaigns/${campaignId}/ab-test`, { method: "PUT", body });
      existed = true;
    } catch (error) {
      if (error instanceof ApiError) error.details.fields = dotted(error.fields);
      throw error;
    }
  }

  // What changes the estimate (the longest variant sets the credits held).
  function key() {
    return toggle.checked ? [...variants.querySelectorAll("s-text-area")].map((area) => area.value || "").join("\u0000") : "";
  }

  return { load, save, key };
}

// Marshmallow's nested errors ({variants: {"1": {body: [...]}}}) as the fields' names.
function dotted(fields) {
  const result = {};
  for (const [name, messages] of Object.entries(fields || {})) {
    if (name === "variants" && messages && !Array.isArray(messages)) {
      for (const [index, inner] of Object.entries(messages)) result[`variants.${index}.body`] = inner.body || inner;
    } else result[name] = messages;
  }
  if (result["variants.0.body"]) result.body = result["variants.0.body"]; // variant A is the message
  delete result["variants.0.body"];
  return result;
}

// --- the campaign page's section ------------------------------------------------------------

const STATUS = {
  draft: "Starts when the campaign is launched.",
  testing: "Testing: the rest of the audience waits for the winner.",
  awaiting_pick: "The wait is over: pick the variant the rest of the audience gets.",
  decided: "Decided.",
  abandoned: "The campaign was cancelled before a winner was picked.",
};

function pValue(value) {
  return value === null || value === undefined ? "—" : value < 0.001 ? "< 0.001" : value.toFixed(3);
}

function rate(value) {
  return value === null || value === undefined ? "—" : `${(value * 100).toFixed(1)}%`;
}

// Fills `target` with the campaign's test, or leaves it empty (and hidden) when it has none.
export async function abTestReport(target, campaignId, { onPicked } = {}) {
  let test;
  try {
    test = await api(`/campaigns/${campaignId}/ab-test`);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) {
      target.hidden = true;
      return;
    }
    showError(target, error, { heading: "The A/B test could not load" });
    return;
  }
  target.hidden = false;
  const picking = test.status === "testing" || test.status === "awaiting_pick";
  const lines = [
    h("s-paragraph", {}, STATUS[test.status] || test.status),
    h("s-paragraph", { color: "subdued" }, `${test.test_share}% of the audience, winner on ${METRICS[test.metric].toLowerCase()}, ${test.decision === "auto" ? `decided automatically${test.decide_at ? ` at ${dateTime(test.decide_at)}` : ` ${test.wait_hours} h after the launch`}` : "you pick the winner"}.`),
  ];
  if (test.winner) lines.push(h("s-paragraph", {}, `Variant ${test.winner} was sent to the rest of the audience.`));
  const revenue = (value) => (test.currency ? money(value, test.currency) : number(value));
  const header = ["Variant", "Message", "Sent", "Click rate", "Order rate", "Revenue", "p-value", "Action"].map((text) => h("th", { scope: "col" }, text));
  const rows = test.variants.map((variant) =>
    h(
      "tr",
      {},
      h("th", { scope: "row" }, variant.label + (variant.label === test.leader ? " (leading)" : "")),
      h("td", { class: "message-body" }, variant.body),
      h("td", {}, number(variant.sent)),
      h("td", {}, rate(variant.click_rate)),
      h("td", {}, rate(variant.order_rate)),
      h("td", {}, revenue(variant.revenue)),
      h("td", {}, pValue(variant.p_value) + (variant.significant ? " (significant)" : "")),
      h("td", {}, picking && test.decision === "manual" ? h("s-button", { onclick: (event) => pick(event, variant.label) }, `Send variant ${variant.label} to the rest`) : null),
    ),
  );
  const overall = `Across the variants: p-value ${pValue(test.p_value)}, ${test.significant ? "a significant difference (p < 0.05)" : "not a significant difference yet"}.`;
  fill(target, lines, h("table", { class: "data-table" }, h("caption", {}, "Variants"), h("thead", {}, h("tr", {}, header)), h("tbody", {}, rows)), h("s-paragraph", {}, overall), h("div", { id: "ab-error" }));

  async function pick(event, label) {
    await busy(event.currentTarget, async () => {
      try {
        await api(`/campaigns/${campaignId}/ab-test/winner`, { method: "POST", body: { variant: label } });
        toast(`Variant ${label} is going to the rest`);
        onPicked?.();
      } catch (error) {
        showError("ab-error", error, { heading: "The winner was not picked" });
      }
    });
  }
}
