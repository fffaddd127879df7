// The flow editor's steps: a vertical list of cards, a condition's "Yes" and "No" lists indented
// under it, a step added (a menu of types) at any place of any list, moved up or down within its
// list, deleted. The tree is the one the API stores (services/flows/definition.py); check()
// mirrors that module's structural rules so the merchant sees them before saving, and
// showErrors() puts the API's 422 `step_errors` (or check()'s) next to the step each names,
// announced through the card's description and its field's aria-invalid.
import { fill, h } from "./dom.js";
import { STEP_TYPES, numbering, walk } from "./flow_labels.js";
import { newStep, stepFields } from "./flow_step_forms.js";

const UNREACHABLE = "Unreachable: nothing runs after an exit or a condition in the same branch.";
const ENDS_ON_WAIT = "A branch cannot end with a wait: nothing follows it.";
const CONDITION_WORDS = { ordered: "they ordered", clicked: "they clicked a link", has_tag: "they have the tag", spent_over: "they spent over", in_segment: "they are in the segment" };

export function stepsEditor(container, { steps, context }) {
  const tree = steps;
  let numbers = numbering(tree);
  let focusKey = null;
  let errors = new Map(); // step id -> [messages]

  function freshId() {
    let top = 0;
    for (const step of walk(tree)) {
      const match = /^s(\d+)$/.exec(step.id);
      if (match) top = Math.max(top, Number(match[1]));
    }
    return `s${top + 1}`;
  }

  function where(list) {
    if (list === tree) return "the flow";
    for (const step of walk(tree)) {
      if (step.type !== "condition") continue;
      const name = `step ${numbers.get(step.id).number}`;
      if (step.yes === list) return `Yes of ${name}`;
      if (step.no === list) return `No of ${name}`;
    }
    return "this branch";
  }

  function adder(list, index, label, text = "Add step") {
    const menu = h("div", { class: "step-menu", role: "group", "aria-label": `Step types for ${label}`, hidden: true });
    const open = h("s-button", { accessibilityLabel: label }, text);
    const close = () => {
      menu.hidden = true;
      open.focus();
    };
    fill(
      menu,
      Object.entries(STEP_TYPES).map(([type, text]) =>
        h("s-button", {
          onclick: () => {
            const step = newStep(type, freshId());
            list.splice(index, 0, step);
            focusKey = `field:${step.id}`;
            context.changed();
            render();
          },
        }, text),
      ),
      h("s-button", { variant: "tertiary", onclick: close }, "Cancel"),
    );
    menu.addEventListener("keydown", (event) => {
      if (event.key === "Escape") close();
    });
    open.addEventListener("click", () => {
      menu.hidden = !menu.hidden;
      if (!menu.hidden) menu.querySelector("s-button").focus();
    });
    return h("div", { class: "step-adder" }, open, menu);
  }

  function move(list, index, by) {
    const [step] = list.splice(index, 1);
    list.splice(index + by, 0, step);
    focusKey = `move:${step.id}:${by}`;
    context.changed();
    render();
  }

  function remove(list, index) {
    list.splice(index, 1);
    numbers = numbering(tree); // where(list) names the list by its condition's new number
    focusKey = list.length ? `field:${list[Math.max(0, index - 1)].id}` : `add:${where(list)}`;
    context.changed();
    render();
  }

  // A condition takes its branches with it: asked first, beside the button, when they hold steps.
  function askRemove(list, index, name, row) {
    const under = [...walk([list[index]])].length - 1;
    if (!under) return remove(list, index);
    row.parentElement.querySelector(".confirm-delete")?.remove();
    const keep = h("s-button", { onclick: () => { box.remove(); row.querySelector("[tone=critical]").focus(); } }, "Keep it");
    const sure = h("s-button", { tone: "critical", variant: "primary", onclick: () => remove(list, index) }, `Delete ${name} and its ${under === 1 ? "1 step" : `${under} steps`}`);
    const box = h("div", { class: "inline-form confirm-delete", role: "group", "aria-label": `Delete ${name}?` }, h("s-text", {}, `The steps in its Yes and No branches are deleted with it.`), sure, keep);
    row.after(box);
    sure.focus();
  }

  function actions(list, index, step, name) {
    const up = h("s-button", { accessibilityLabel: `Move ${name} up`, disabled: index === 0, "data-focus": `move:${step.id}:-1`, onclick: () => move(list, index, -1) }, "Move up");
    const down = h("s-button", { accessibilityLabel: `Move ${name} down`, disabled: index === list.length - 1, "data-focus": `move:${step.id}:1`, onclick: () => move(list, index, 1) }, "Move down");
    const drop = h("s-button", { tone: "critical", accessibilityLabel: `Delete ${name}`, onclick: () => askRemove(list, index, name, row) }, "Delete");
    // The first step of a list can have one put above it; every step, one below it.
    const above = index === 0 ? adder(list, 0, `Add a step above ${name}`, "Add step above") : null;
    const row = h("div", { class: "row-actions" }, up, down, drop, above, adder(list, index + 1, `Add a step below ${name}`, "Add step below"));
    return row;
  }

  function branch(step, key, title) {
    const list = step[key];
    const what = CONDITION_WORDS[step.if?.kind] || "the check passes";
    const heading = key === "yes" ? `${title}: when ${what}` : `${title}: otherwise`;
    return h("div", { class: `branch branch-${key}` }, h("s-heading", {}, heading), renderList(list));
  }

  function card(list, index) {
    const step = list[index];
    const name = `step ${numbers.get(step.id).number}`;
    const heading = `Step ${numbers.get(step.id).number}: ${STEP_TYPES[step.type] || step.type}`;
    const messages = errors.get(step.id) || [];
    const errorId = `step-${step.id}-error`;
    const fields = h("div", { class: "step-fields" }, stepFields(step, context));
    const primary = fields.querySelector("[data-primary]");
    if (primary) primary.setAttribute("data-focus", `field:${step.id}`);
    if (messages.length && primary) primary.setAttribute("error", messages.join(" "));
    const errorText = h("p", { id: errorId, class: primary ? "visually-hidden" : "step-error", hidden: !messages.length }, messages.join(" "));
    const section = h(
      "s-section",
      { heading, "data-step": step.id, "aria-describedby": messages.length ? errorId : null, class: messages.length ? "step step-invalid" : "step" },
      errorText,
      fields,
      actions(list, index, step, name), // a condition's own actions sit above its branches
      step.type === "condition" ? [branch(step, "yes", "Yes"), branch(step, "no", "No")] : null,
    );
    return h("li", { class: "step-item" }, section);
  }

  function renderList(list) {
    const label = where(list);
    const items = list.map((_, index) => card(list, index));
    const end = adder(list, list.length, list === tree ? "Add a step at the end of the flow" : `Add a step to ${label}`);
    end.querySelector("s-button").setAttribute("data-focus", `add:${label}`);
    return h("div", { class: "step-list" }, items.length ? h("ol", { class: "steps", "aria-label": `Steps of ${label}` }, items) : h("p", { class: "subdued" }, "No steps: this branch ends here."), end);
  }

  function render() {
    numbers = numbering(tree);
    fill(container, renderList(tree));
    if (focusKey) {
      const [kind, id] = focusKey.split(":");
      // A step without a field (an exit) or a move button now disabled: the step's first button.
      const target =
        container.querySelector(`[data-focus="${CSS.escape(focusKey)}"]:not([disabled])`) ||
        (kind === "add" ? null : container.querySelector(`[data-step="${CSS.escape(id)}"] .row-actions s-button:not([disabled])`));
      target?.focus();
      focusKey = null;
    }
  }

  // The structural rules of definition.check_steps, as [{step, message}] ("-": the whole flow).
  function check() {
    const found = [];
    const checkList = (list) => {
      list.forEach((step, index) => {
        const last = index === list.length - 1;
        if ((step.type === "condition" || step.type === "exit") && !last) found.push({ step: list[index + 1].id, message: UNREACHABLE });
        if (step.type === "wait" && last) found.push({ step: step.id, message: ENDS_ON_WAIT });
        if (step.type === "condition") {
          checkList(step.yes);
          checkList(step.no);
        }
      });
    };
    checkList(tree);
    if (!tree.length) found.push({ step: "-", message: "A flow needs at least one step." });
    else if (![...walk(tree)].some((step) => step.type === "send")) found.push({ step: "-", message: "A flow needs at least one send step." });
    return found;
  }

  // Errors beside their steps; returns the ones no step claims (for the page's banner) and
  // focuses the first step that has one.
  function showErrors(items) {
    errors = new Map();
    const unclaimed = [];
    for (const item of items) {
      if (numbers.has(item.step)) errors.set(item.step, [...(errors.get(item.step) || []), item.message]);
      else unclaimed.push(item.message);
    }
    const first = [...walk(tree)].find((step) => errors.has(step.id));
    if (first) focusKey = `field:${first.id}`;
    render();
    if (first && !container.contains(document.activeElement)) container.querySelector(`[data-step="${CSS.escape(first.id)}"]`)?.scrollIntoView();
    return unclaimed;
  }

  function describe(item) {
    const entry = numbers.get(item.step);
    return entry ? `Step ${entry.number}: ${item.message}` : item.message;
  }

  render();
  return { tree, check, showErrors, describe, render, clear: () => showErrors([]) };
}
