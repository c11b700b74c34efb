/* Rating a campaign: open it from the sidebar (#campaign=<id>), ask for the next item
 * (POST /api/campaigns/<id>/next), show its pair as an ordinary paired turn (turn-view.js,
 * streamed by relay.js, voted on by vote-actions.js with the 1-4 keys), and once the vote or
 * skip is recorded, the next item at once; 204 means nothing is left for this rater.
 */
import { api, enc } from "./api.js";
import { bindCampaignList, refreshCampaigns, renderCampaignList, updateCampaign } from "./campaign-list.js";
import { campaignById, campaigns } from "./campaign-state.js";
import * as view from "./campaign-view.js";
import { updateComposer } from "./composer.js";
import { renderConversationList } from "./conversation-list.js";
import { els } from "./dom.js";
import { announce, hideError, showError } from "./notices.js";
import { closeAllLinks, connect } from "./relay.js";
import { closeSidebar } from "./sidebar.js";
import { state } from "./state.js";
import { t } from "./strings.js";
import { buildTurnView } from "./turn-view.js";
import { SLOTS } from "./vocabulary.js";
import { resultText } from "./vote-view.js";

/** The campaign id in the address (#campaign=<id>), or null. */
export function hashCampaignId() {
  const m = /^#campaign=(.+)$/.exec(location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

function clearTurns() {
  closeAllLinks();
  state.turns.clear();
  els.turnList.replaceChildren();
}

/** Show campaign `id` in place of the conversation, and its next item; false if unknown. */
export async function openCampaign(id) {
  let campaign = campaignById(id);
  if (!campaign) {
    await refreshCampaigns();
    campaign = campaignById(id);
  }
  if (!campaign) {
    showError(t("campaign.notFound"));
    return false;
  }
  hideError();
  announce("");
  state.loadToken++; // a conversation still loading must not replace the campaign
  Object.assign(state, { currentId: null, conversation: null });
  clearTurns();
  els.convSystemPrompt.hidden = true;
  history.replaceState(null, "", `#campaign=${enc(id)}`);
  document.title = `${campaign.name} · Duet`;
  view.enterCampaignView(campaign);
  renderConversationList();
  updateComposer();
  await nextItem();
  return true;
}

/** Ask for this rater's next item of the campaign shown, and show it (or the end). */
async function nextItem() {
  const token = campaigns.token;
  const id = campaigns.id;
  view.showLoading(true);
  view.parts.again.disabled = true;
  let res;
  try {
    res = await api("POST", `/api/campaigns/${enc(id)}/next`, {});
  } catch (e) {
    if (token !== campaigns.token) return;
    clearTurns();
    if (e.status === 404 || e.code === "campaign_closed") {
      view.showEnd("closed");
      refreshCampaigns();
    } else {
      view.showEnd("failed");
      showError(e.message);
    }
    return;
  } finally {
    if (token === campaigns.token) {
      view.showLoading(false);
      view.parts.again.disabled = false;
    }
  }
  if (token !== campaigns.token) return;
  if (res.item) showItem(res, token);
  else await nothingLeft(token);
}

function showItem(res, token) {
  const { item, turn } = res;
  const ids = new Map((turn.responses || []).map((r) => [r.slot, r.id]));
  const slots = Array.isArray(turn.slots) && turn.slots.length === 2 ? turn.slots : SLOTS;
  const pair = buildTurnView({
    id: turn.id,
    content: item.prompt,
    paired: true,
    trigger: "campaign",
    responses: slots.map((slot) => ({ slot, id: ids.get(slot) || null, content: "", status: "streaming" })),
    feedback: null,
  });
  pair.el.classList.add("campaign-turn");
  pair.onSettle = (settled, error) => onSettle(settled, error, token);
  clearTurns();
  state.turns.set(pair.id, pair);
  els.turnList.append(pair.el);
  view.showItem(item);
  const progress = res.campaign || campaignById(campaigns.id) || {};
  view.showProgress(progress, item);
  updateCampaign(res.campaign);
  els.turnsScroller.scrollTop = 0;
  const lost = document.activeElement === document.body || !document.activeElement;
  if (lost) view.parts.prompt.focus({ preventScroll: true });
  announce(t("announce.streamingPair"));
  connect(pair);
}

async function nothingLeft(token) {
  clearTurns();
  view.showEnd("nothing");
  await refreshCampaigns();
  if (token !== campaigns.token) return;
  const campaign = campaignById(campaigns.id);
  if (campaign) view.showProgress(campaign, null);
  else view.showEnd("closed");
  if (document.activeElement === document.body) view.parts.again.focus({ preventScroll: true });
}

/** After the vote or skip of the item shown (or its refusal): on to the next item. */
function onSettle(pair, error, token) {
  if (token !== campaigns.token) return;
  if (pair.feedback || pair.skip) {
    view.showNotice("");
    view.showLast(pair.feedback ? resultText(pair) : t("campaign.skipped"));
    nextItem();
    return;
  }
  if (!error || error.status !== 409) return; // the banner says what went wrong; try again
  if (error.code === "assignment_expired") {
    hideError();
    view.showLast("");
    view.showNotice(t("campaign.expired"));
    nextItem();
  } else if (error.code === "already_rated" || error.code === "already_skipped") {
    hideError();
    nextItem();
  }
}

/** The sidebar's campaigns, the #campaign=<id> address and the "Check again" button. */
export function bindCampaigns() {
  if (!view.parts) return;
  bindCampaignList((id) => {
    closeSidebar();
    if (id !== campaigns.id) openCampaign(id);
  });
  window.addEventListener("hashchange", () => {
    const id = hashCampaignId();
    if (id && id !== campaigns.id) openCampaign(id);
  });
  view.parts.again.addEventListener("click", () => {
    hideError();
    nextItem();
  });
  renderCampaignList();
}
