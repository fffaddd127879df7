// Local-time sending on the campaign page: the time each subscriber gets the campaign at, and
// each cohort (the time zones that start at one instant) with its state and progress.
import { api } from "./api.js";
import { fill, h } from "./dom.js";
import { date, dateTime, number } from "./format.js";
import { badge, showError, table } from "./ui.js";

const STATES = {
  waiting: ["Waiting", "info"],
  sending: ["Sending", "attention"],
  paused: ["Paused", "warning"],
  done: ["Done", "success"],
  cancelled: ["Cancelled", undefined],
};

// "Sends at 10:00 in each subscriber's time zone, on 8 Dec 2026": one line for the status.
export function localTimeLine(campaign) {
  if (!campaign.local_send_time) return null;
  const on = campaign.local_send_date ? `, on ${date(campaign.local_send_date)}` : "";
  return h("s-paragraph", {}, `Sends at ${campaign.local_send_time} in each subscriber's time zone${on}.`);
}

function zones(list) {
  if (!list.length) return "Other time zones";
  return list.length > 3 ? `${list.slice(0, 3).join(", ")} and ${list.length - 3} more` : list.join(", ");
}

function rows(items) {
  return items.map((cohort) => {
    const [label, tone] = STATES[cohort.state] || [cohort.state, undefined];
    return [
      zones(cohort.zones),
      dateTime(cohort.starts_at),
      badge(label, tone),
      `${number(cohort.sent)} of ${number(cohort.recipients)}`,
      number(cohort.waiting),
    ];
  });
}

// Fill `target` with the campaign's cohorts (nothing for a campaign sent at one time).
export async function showCohorts(target, campaign) {
  if (!campaign.local_send_time || ["draft", "scheduled"].includes(campaign.state)) {
    fill(target);
    return;
  }
  try {
    const { items } = await api(`/campaigns/${campaign.id}/cohorts`);
    fill(
      target,
      h("s-heading", {}, "Time zones"),
      table({ label: "Time zone cohorts", headers: ["Time zones", "Starts", "State", "Sent", "Still to send"], rows: rows(items) }),
    );
  } catch (error) {
    showError(target, error, { heading: "The time zones could not load" });
  }
}
