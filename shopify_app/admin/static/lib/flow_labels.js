// What a flow's parts are called on every flows screen (editor, runs, report, a run's steps),
// and the one numbering of steps ("Step 3") they all share: depth first, the order the editor
// lists them, which is the order the API's definition.walk() yields them.

export const STEP_TYPES = {
  send: "Send a text",
  wait: "Wait",
  condition: "Condition",
  tag: "Tag",
  exit: "Exit",
};

export const OUTCOMES = {
  sent: "Sent",
  skipped: "Skipped",
  waited: "Waited",
  yes: "Yes",
  no: "No",
  tagged: "Tag added",
  untagged: "Tag removed",
  exited: "Exited",
};

export const RUN_STATES = { active: "Active", completed: "Completed", exited: "Exited" };
export const RUN_TONES = { active: "info", completed: "success", exited: undefined };

export const REENTRY = {
  per_trigger: "Every time it is triggered",
  once: "Once per subscriber",
  cooldown: "Again after a cooldown",
};

// Every step of the tree, depth first (a condition's Yes list, then its No list).
export function* walk(steps) {
  for (const step of steps || []) {
    yield step;
    if (step.type === "condition") {
      yield* walk(step.yes);
      yield* walk(step.no);
    }
  }
}

// step id -> {number, step}: "Step 3" means the same step on every screen.
export function numbering(steps) {
  const numbers = new Map();
  let n = 0;
  for (const step of walk(steps)) numbers.set(step.id, { number: ++n, step });
  return numbers;
}

export function stepName(numbers, stepId, type) {
  const entry = numbers.get(stepId);
  const label = STEP_TYPES[entry?.step.type || type] || type || "Step";
  return entry ? `Step ${entry.number}: ${label}` : `${label} (${stepId}, no longer in the flow)`;
}

// A reason the API recorded ("not_subscribed", "order_placed") as words.
export function words(text) {
  return text ? String(text).replaceAll("_", " ") : "";
}
