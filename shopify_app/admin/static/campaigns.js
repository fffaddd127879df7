// Campaigns: the shop's campaigns, newest first, a page at a time (the API's cursor), with
// each one's state, recipients, delivered and failed, and when it went out or is due.
import { api } from "./lib/api.js";
import { byId, fill, h } from "./lib/dom.js";
import { dateTime, number, useShop } from "./lib/format.js";
import { pages } from "./lib/forms.js";
import { appUrl } from "./lib/nav.js";
import { stateBadge } from "./lib/campaigns.js";
import { emptyState, showError, table } from "./lib/ui.js";

const PAGE_SIZE = 25;

function when(campaign) {
  if (campaign.launched_at) return dateTime(campaign.launched_at);
  if (campaign.state === "scheduled" || campaign.send_at) return h("span", {}, "Scheduled for ", dateTime(campaign.send_at));
  return "—";
}

function rows(items) {
  return items.map((campaign) => [
    h("s-link", { href: appUrl(`/campaigns/${campaign.id}`) }, campaign.name),
    stateBadge(campaign.state),
    number(campaign.recipients ?? 0),
    number(campaign.counters?.delivered ?? 0),
    number(campaign.counters?.failed ?? 0),
    when(campaign),
  ]);
}

async function load(cursor) {
  return api("/campaigns", { query: { limit: PAGE_SIZE, cursor } });
}

function render(page, first) {
  if (!page.items.length && first) {
    fill(
      "list",
      emptyState({
        heading: "No campaigns yet",
        text: "Write a message, choose who gets it, and send it now or at a time you pick.",
        action: { label: "Create campaign", href: appUrl("/campaigns/new") },
      }),
    );
    return;
  }
  fill(
    "list",
    table({
      label: "Campaigns",
      headers: ["Campaign", "State", "Recipients", "Delivered", "Failed", "Sent or scheduled"],
      rows: rows(page.items),
    }),
  );
}

const list = pages({ load, render, heading: "The campaigns could not load" });

async function main() {
  byId("create").setAttribute("href", appUrl("/campaigns/new"));
  try {
    const [shop, page] = await Promise.all([api("/shop"), load(undefined)]);
    useShop(shop);
    list.shown(page);
  } catch (error) {
    showError("page-error", error, { heading: "The campaigns could not load" });
    fill("list");
  }
}

main();
