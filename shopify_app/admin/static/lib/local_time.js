// The composer's "Send in each subscriber's time zone" choice: a time of day on each
// subscriber's clock and an optional date (without one, each gets it at the next such time
// after the launch). The API decides and checks everything (quiet hours, a date that has
// passed); this module only maps the fields.
import { h } from "./dom.js";
import { date, timeOfDay } from "./format.js";

export const LOCAL = "local";

// Every quarter hour of a day, "00:00" to "23:45" (plus `selected` when it is another time),
// as the options of a time select.
export function timeChoices(select, selected, fallback = "09:00") {
  const options = [];
  for (let minutes = 0; minutes < 24 * 60; minutes += 15) {
    options.push(`${String(Math.floor(minutes / 60)).padStart(2, "0")}:${String(minutes % 60).padStart(2, "0")}`);
  }
  if (selected && !options.includes(selected)) options.push(selected), options.sort();
  select.replaceChildren(...options.map((time) => h("s-option", { value: time }, timeOfDay(time))));
  select.value = selected || fallback;
}

function control(form, name) {
  return form.querySelector(`[name="${name}"]`);
}

function chosen(form) {
  return control(form, "when").value === LOCAL;
}

// The API's local-time fields for the form as it is (nulls turn it off).
export function localTimeFields(form) {
  if (!chosen(form)) return { local_send_time: null, local_send_date: null };
  return { local_send_time: control(form, "local_send_time").value || null, local_send_date: control(form, "local_send_date").value || null };
}

export function showLocalTime(form) {
  form.querySelector("#local-time").hidden = !chosen(form);
}

export function fillLocalTime(form, campaign) {
  timeChoices(control(form, "local_send_time"), campaign?.local_send_time, "10:00");
  if (!campaign?.local_send_time) return;
  control(form, "when").value = LOCAL;
  control(form, "local_send_date").value = campaign.local_send_date || "";
}

// What the launch dialog says under "Sends", or null when the choice is not local time.
export function localTimeSummary(form) {
  if (!chosen(form)) return null;
  const { local_send_time: time, local_send_date: day } = localTimeFields(form);
  const when = `${timeOfDay(time)} in each subscriber's time zone`;
  return day ? `${when}, on ${date(day)}` : `${when}, the next time it comes for each`;
}
