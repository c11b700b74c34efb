/* The campaign view's parts around the pair: the campaign's name and progress, its
 * guidelines (open the first time this browser shows the campaign), what became of the last
 * item, the prompt with its system prompt, and the end ("nothing left", closed, or a failure
 * with a button to ask again). The pair itself is an ordinary turn of the turn list
 * (turn-view.js); campaign.js moves from item to item.
 */
import { renderCampaignList } from "./campaign-list.js";
import { campaigns } from "./campaign-state.js";
import { els, h, uid } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { store } from "./settings.js";
import { t } from "./strings.js";

const root = document.getElementById("campaign-view");
const main = document.getElementById("main");
const skipLink = document.querySelector(".skip-link");
const chatSkip = skipLink ? { href: skipLink.getAttribute("href"), text: skipLink.textContent } : null;
const SEEN = "duet.guidelinesSeen.";

function build() {
  const promptId = uid("campaign-prompt-title");
  const p = {
    title: h("h2", { id: "campaign-title", class: "campaign-title" }),
    progress: h("p", { id: "campaign-progress", class: "campaign-progress" }),
    bar: h("progress", { id: "campaign-bar", class: "campaign-bar", max: "1", value: "0" }),
    guidelinesBody: h("div", { class: "md campaign-guidelines-body" }),
    notice: h("p", { id: "campaign-notice", class: "campaign-notice", hidden: true }),
    last: h("p", { id: "campaign-last", class: "campaign-last", hidden: true }),
    systemText: h("p", { class: "campaign-system-text" }),
    promptText: h("p", { class: "campaign-prompt-text" }),
    loading: h("p", { class: "campaign-loading", hidden: true },
      h("span", { class: "spinner", "aria-hidden": "true" }), t("campaign.loading")),
    endTitle: h("p", { class: "campaign-end-title" }),
    endText: h("p", { class: "campaign-end-text" }),
    again: h("button", { type: "button", class: "button campaign-again" }),
  };
  p.guidelines = h("details", { id: "campaign-guidelines", class: "campaign-guidelines" },
    h("summary", null, t("campaign.guidelines")), p.guidelinesBody);
  p.system = h("div", { class: "campaign-system", hidden: true },
    h("h4", { class: "campaign-label" }, t("campaign.systemPrompt")), p.systemText);
  p.prompt = h("section", { id: "campaign-prompt", class: "campaign-prompt", tabindex: "-1", "aria-labelledby": promptId },
    p.system, h("h3", { class: "campaign-label", id: promptId }, t("campaign.prompt")), p.promptText);
  p.end = h("div", { id: "campaign-done", class: "campaign-done", hidden: true }, p.endTitle, p.endText, p.again);
  root.append(h("header", { class: "campaign-head" }, p.title, p.progress, p.bar),
    p.guidelines, p.notice, p.last, p.prompt, p.loading, p.end);
  return p;
}

/** The view's elements (built once, filled per campaign and per item). */
export const parts = root ? build() : null;

/** Show the campaign view in place of the chat, for `campaign`. */
export function enterCampaignView(campaign) {
  campaigns.id = campaign.id;
  campaigns.token++;
  root.hidden = false;
  main.dataset.view = "campaign";
  els.composer.hidden = true;
  if (skipLink) {
    skipLink.setAttribute("href", "#campaign-prompt");
    skipLink.textContent = t("campaign.skipLink");
  }
  parts.title.textContent = campaign.name;
  parts.notice.hidden = true;
  parts.last.hidden = true;
  const text = campaign.guidelines || "";
  parts.guidelines.hidden = !text.trim();
  renderMarkdown(parts.guidelinesBody, text);
  // Open the first time this browser shows the campaign; after that, folded until asked.
  parts.guidelines.open = Boolean(text.trim()) && store.get(SEEN + campaign.id) !== "1";
  if (text.trim()) store.set(SEEN + campaign.id, "1");
  showProgress(campaign, null);
  renderCampaignList();
}

/** Back to the chat (a conversation is shown): hide the campaign view. */
export function leaveCampaignView() {
  if (campaigns.id === null) return;
  campaigns.id = null;
  campaigns.token++;
  root.hidden = true;
  main.dataset.view = "chat";
  els.composer.hidden = false;
  if (skipLink && chatSkip) {
    skipLink.setAttribute("href", chatSkip.href);
    skipLink.textContent = chatSkip.text;
  }
  renderCampaignList();
}

function people(votes) {
  if (!votes) return t("campaign.people.none");
  return votes === 1 ? t("campaign.people.one") : t("campaign.people.many", { n: votes });
}

/** "12 of 40 done, 3 people rated this one" (without an item: "12 of 40 done"), and the bar
 * of the campaign's items that have all their votes. */
export function showProgress(progress, item) {
  const vars = { mine: progress.mine ?? 0, items: progress.items ?? 0 };
  parts.progress.textContent = item
    ? t("campaign.progressItem", { ...vars, people: people(item.votes) })
    : t("campaign.progress", vars);
  const items = Math.max(progress.items || 0, 1);
  parts.bar.max = items;
  parts.bar.value = Math.min(progress.rated || 0, items);
  parts.bar.setAttribute("aria-label", t("campaign.complete",
    { overlap: progress.overlap ?? 1, rated: progress.rated ?? 0, items: progress.items ?? 0 }));
}

/** Show an item's prompt (and system prompt). */
export function showItem(item) {
  parts.promptText.textContent = item.prompt || "";
  parts.systemText.textContent = item.system_prompt || "";
  parts.system.hidden = !item.system_prompt;
  parts.prompt.hidden = false;
  parts.end.hidden = true;
}

/** Show the end of the items: kind "nothing" (nothing left), "closed", or "failed". */
export function showEnd(kind) {
  parts.prompt.hidden = true;
  parts.end.hidden = false;
  parts.end.dataset.kind = kind;
  parts.endTitle.textContent = t({ nothing: "campaign.nothingLeft", closed: "campaign.closed", failed: "campaign.failed" }[kind]);
  parts.endText.textContent = kind === "nothing" ? t("campaign.nothingLeftWhy") : "";
  parts.endText.hidden = kind !== "nothing";
  parts.again.hidden = kind === "closed";
  parts.again.textContent = t(kind === "failed" ? "campaign.tryAgain" : "campaign.checkAgain");
}

/** Whether the next item is on its way. */
export function showLoading(on) {
  parts.loading.hidden = !on;
}

/** What became of the last item ("You preferred B: beta over alpha"), or nothing. */
export function showLast(text) {
  parts.last.textContent = text || "";
  parts.last.hidden = !text;
}

/** A one-off note about the last item (it went to other raters), or nothing. */
export function showNotice(text) {
  parts.notice.textContent = text || "";
  parts.notice.hidden = !text;
}
