// What the campaign screens share: a campaign's state as a badge, and which states go on.
import { badge } from "./ui.js";

export const STATES = {
  draft: ["Draft", undefined],
  scheduled: ["Scheduled", "info"],
  sending: ["Sending", "info"],
  paused: ["Paused", "warning"],
  completed: ["Completed", "success"],
  cancelled: ["Cancelled", undefined],
  failed: ["Failed", "critical"],
};

// States whose counters still change: the campaign page polls while it shows one of them.
export const LIVE_STATES = ["scheduled", "sending"];

export function stateBadge(state) {
  const [label, tone] = STATES[state] || [state, undefined];
  return badge(label, tone);
}
