// How the screens show a contact: its consent state as a badge, its name.
import { badge } from "./ui.js";

export const CONSENT_LABELS = { subscribed: "Subscribed", pending: "Pending", unsubscribed: "Unsubscribed" };
const CONSENT_TONES = { subscribed: "success", pending: "attention", unsubscribed: undefined };

export function consentBadge(state) {
  return badge(CONSENT_LABELS[state] || state, CONSENT_TONES[state]);
}

export function fullName(contact) {
  return [contact.first_name, contact.last_name].filter(Boolean).join(" ");
}
