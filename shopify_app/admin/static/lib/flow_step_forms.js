// One step's form inside its card in the flow editor: each control writes straight into the
// step object (the tree the editor saves), so moving or re-rendering a card loses nothing.
// `context`: {catalog, segments, trigger() -> the trigger chosen now, changed() -> the editor
// marks itself unsaved}.
import { fill, h } from "./dom.js";
import { number } from "./format.js";

const UNITS = { minutes: 1, hours: 60, days: 60 * 24 };

// A whole number as a number; anything else as typed, for the API to say what is wrong.
export const whole = (text) => (/^\s*\d+\s*$/.test(String(text ?? "")) ? Number(text) : String(text ?? ""));
const amount = (text) => (/^\s*\d+(\.\d+)?\s*$/.test(String(text ?? "")) ? Number(text) : String(text ?? ""));

function bind(control, write, context, event = "input") {
  control.addEventListener(event, () => {
    write(control.value ?? "");
    control.removeAttribute("error");
    context.changed();
  });
  return control;
}

function select(label, name, value, options, extra = {}) {
  return h(
    "s-select",
    { label, name, value, ".value": value, ...extra },
    options.map(([key, text]) => h("s-option", { value: key, selected: key === value }, text)),
  );
}

function variables(context) {
  const trigger = (context.catalog.triggers || []).find((item) => item.key === context.trigger());
  return trigger?.variables || [];
}

function characters(text) {
  const count = [...String(text || "")].length;
  return `${number(count)} ${count === 1 ? "character" : "characters"} before variables are filled in`;
}

function sendFields(step, context) {
  const counter = h("p", { class: "counter", "aria-live": "polite" }, characters(step.body));
  const body = h("s-text-area", { label: "Message", name: "body", rows: 3, value: step.body || "", ".value": step.body || "", "data-primary": true });
  bind(body, (value) => {
    step.body = value;
    fill(counter, characters(value));
  }, context);
  const hints = h(
    "div",
    { class: "variables" },
    h("s-text", {}, "Insert a variable: "),
    variables(context).map((name) =>
      h(
        "s-button",
        {
          variant: "tertiary",
          accessibilityLabel: `Insert ${name}`,
          onclick: () => {
            const text = String(body.value ?? "");
            body.value = `${text}${text && !text.endsWith(" ") ? " " : ""}{{${name}}}`;
            body.dispatchEvent(new Event("input", { bubbles: true }));
            body.focus?.();
          },
        },
        `{{${name}}}`,
      ),
    ),
  );
  return [body, hints, counter];
}

function durationFields(step, context) {
  const minutes = typeof step.minutes === "number" ? step.minutes : 60;
  const unit = minutes % UNITS.days === 0 ? "days" : minutes % UNITS.hours === 0 ? "hours" : "minutes";
  const amountField = h("s-number-field", { label: "Wait for", name: "minutes", min: 1, value: minutes / UNITS[unit], "data-primary": true });
  const unitField = select("Unit", "unit", unit, [["minutes", "Minutes"], ["hours", "Hours"], ["days", "Days"]]);
  const write = () => {
    const value = whole(amountField.value);
    step.minutes = typeof value === "number" ? value * UNITS[unitField.value || "minutes"] : value;
    delete step.until;
    context.changed();
  };
  amountField.addEventListener("input", write);
  unitField.addEventListener("change", write);
  write();
  return h("div", { class: "field-row" }, amountField, unitField);
}

function untilField(step, context) {
  if (typeof step.until !== "string") step.until = "09:00";
  delete step.minutes;
  return bind(
    h("s-text-field", { label: "Time of day", name: "until", value: step.until, details: "24-hour HH:MM, in the subscriber's time zone", "data-primary": true }),
    (value) => (step.until = value.trim()),
    context,
  );
}

function waitFields(step, context) {
  const mode = typeof step.until === "string" ? "until" : "duration";
  const area = h("div", {});
  const modeField = select("Wait", "wait_mode", mode, [["duration", "A length of time"], ["until", "Until a time of day"]]);
  const show = (chosen) => fill(area, chosen === "until" ? untilField(step, context) : durationFields(step, context));
  modeField.addEventListener("change", () => {
    show(modeField.value);
    context.changed();
  });
  show(mode);
  return [modeField, area];
}

function conditionValue(step, context) {
  const test = step.if;
  if (test.kind === "has_tag") {
    return bind(h("s-text-field", { label: "Tag", name: "condition_tag", value: test.tag || "", "data-primary": true }), (value) => (test.tag = value), context);
  }
  if (test.kind === "spent_over") {
    return bind(
      h("s-number-field", { label: "Amount spent over", name: "amount", min: 0, step: "0.01", value: test.amount ?? "", "data-primary": true }),
      (value) => (test.amount = amount(value)),
      context,
    );
  }
  if (test.kind === "in_segment") {
    const options = [["", "Choose a segment"], ...context.segments.map((segment) => [String(segment.id), segment.name])];
    return bind(
      select("Segment", "segment_id", test.segment_id ? String(test.segment_id) : "", options, { "data-primary": true }),
      (value) => (test.segment_id = value ? Number(value) : null),
      context,
      "change",
    );
  }
  return null;
}

function conditionFields(step, context) {
  step.if = step.if || { kind: "ordered" };
  const kinds = (context.catalog.condition_kinds || []).map((kind) => [kind.key, kind.label]);
  const area = h("div", {});
  const kindField = select("Check", "kind", step.if.kind, kinds, { "data-primary": true });
  kindField.addEventListener("change", () => {
    step.if = { kind: kindField.value };
    fill(area, conditionValue(step, context));
    context.changed();
  });
  fill(area, conditionValue(step, context));
  return [kindField, area];
}

function tagFields(step, context) {
  step.action = step.action || "add";
  const action = bind(select("Action", "action", step.action, [["add", "Add a tag"], ["remove", "Remove a tag"]]), (value) => (step.action = value), context, "change");
  const tag = bind(h("s-text-field", { label: "Tag", name: "tag", value: step.tag || "", "data-primary": true }), (value) => (step.tag = value), context);
  return h("div", { class: "field-row" }, action, tag);
}

const FORMS = {
  send: sendFields,
  wait: waitFields,
  condition: conditionFields,
  tag: tagFields,
  exit: () => h("s-paragraph", {}, "The run ends here."),
};

export function stepFields(step, context) {
  return FORMS[step.type](step, context);
}

// A new step of `type` with a fresh id, its fields at their defaults.
export function newStep(type, id) {
  const defaults = {
    send: { body: "" },
    wait: { minutes: 60 },
    condition: { if: { kind: "ordered" }, yes: [], no: [] },
    tag: { action: "add", tag: "" },
    exit: {},
  };
  return { id, type, ...structuredClone(defaults[type]) };
}
