/* The sidebar's "Campaigns" entry: the open campaigns, each with this rater's progress,
 * above the conversations (hidden when there is none). Clicks: campaign.js. */
import { api, enc } from "./api.js";
import { h } from "./dom.js";
import { campaigns } from "./campaign-state.js";
import { t } from "./strings.js";

const nav = document.getElementById("campaign-nav");
const list = document.getElementById("campaign-list");

/** Fetch the open campaigns again and show them. */
export async function refreshCampaigns() {
  try {
    const data = await api("GET", "/api/campaigns");
    campaigns.list = Array.isArray(data.campaigns) ? data.campaigns : [];
  } catch {
    // The chat works without them; the entry stays as it was.
  }
  renderCampaignList();
}

/** Take a campaign's fresh progress (from a `next` answer) into the list. */
export function updateCampaign(summary) {
  const held = summary && campaigns.list.find((c) => c.id === summary.id);
  if (!held) return;
  Object.assign(held, summary);
  renderCampaignList();
}

function item(c) {
  const link = h("a", { class: "campaign-link", href: `#campaign=${enc(c.id)}`, "data-campaign-id": c.id,
    "aria-current": c.id === campaigns.id ? "page" : null },
  h("span", { class: "campaign-name" }, c.name),
  h("span", { class: "campaign-count" }, t("campaigns.count", { mine: c.mine, items: c.items })));
  return h("li", { class: "campaign-item" }, link);
}

/** Show the list as held, marking the campaign shown. */
export function renderCampaignList() {
  if (!nav) return;
  nav.querySelector(".sidebar-heading").textContent = t("campaigns.heading");
  list.replaceChildren(...campaigns.list.map(item));
  nav.hidden = campaigns.list.length === 0 && campaigns.id === null;
}

/** Clicks on a campaign of the list: `open(id)`. */
export function bindCampaignList(open) {
  if (!list) return;
  list.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-campaign-id]");
    if (!link) return;
    e.preventDefault();
    open(link.dataset.campaignId);
  });
}
