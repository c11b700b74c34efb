/* Duet browser UI, the entry module: wires the page's controls and opens a conversation.
 *
 * Native ES modules, no build step. Talks to the JSON API and the per-turn websocket
 * described in docs/api.md. Test hooks: window.duet (sockets, rawText, ...),
 * .turn[data-turn-id], .pane[data-slot][data-status].
 */
import { bindAccount } from "./account.js";
import { bindCampaigns, hashCampaignId, openCampaign } from "./campaign.js";
import { refreshCampaigns } from "./campaign-list.js";
import { campaigns } from "./campaign-state.js";
import { autosize, bindCompareSwitch, updateComposer } from "./composer.js";
import { bindConversationActions } from "./conversation-actions.js";
import { hashConversationId, refreshConversations } from "./conversation-list.js";
import { openConversation, startNewConversation } from "./conversations.js";
import { bindDataNotice } from "./data-notice.js";
import { els, updateEmptyState } from "./dom.js";
import { initMarkdown } from "./markdown.js";
import { hideError } from "./notices.js";
import { reconnectWaiting, sockets } from "./relay.js";
import { bindSidebar, closeSidebar, sidebarOpen } from "./sidebar.js";
import { busy, state } from "./state.js";
import { bindTurnActions, sendMessage, stopStreaming } from "./turns.js";
import { onVoteKey } from "./vote-actions.js";

function bind() {
  els.composer.addEventListener("submit", (e) => {
    e.preventDefault();
    sendMessage();
  });
  els.input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing && !e.altKey && !e.ctrlKey && !e.metaKey) {
      e.preventDefault();
      sendMessage();
    }
  });
  els.input.addEventListener("input", autosize);
  els.stop.addEventListener("click", stopStreaming);
  els.newConversation.addEventListener("click", () => startNewConversation(false));
  els.newWithPrompt.addEventListener("click", () => startNewConversation(true));
  els.errorDismiss.addEventListener("click", () => {
    hideError();
    els.input.focus();
  });
  bindSidebar();
  bindTurnActions();
  bindConversationActions();
  bindCompareSwitch();
  bindDataNotice();
  bindAccount();
  bindCampaigns();
  document.addEventListener("keydown", onVoteKey);
  els.list.addEventListener("click", (e) => {
    const link = e.target.closest("a[data-conversation-id]");
    if (!link) return;
    e.preventDefault();
    closeSidebar();
    const cid = link.dataset.conversationId;
    if (cid !== state.currentId) openConversation(cid).then((ok) => ok && els.input.focus());
  });
  window.addEventListener("hashchange", () => {
    const cid = hashConversationId();
    if (cid && cid !== state.currentId) openConversation(cid);
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented) return;
    if (sidebarOpen()) {
      closeSidebar();
      els.sidebarToggle.focus();
    } else if (!els.stop.hidden) {
      e.preventDefault();
      stopStreaming();
    }
  });
  window.addEventListener("online", reconnectWaiting);
}

async function init() {
  initMarkdown();
  bind();
  updateComposer();
  await Promise.all([refreshConversations(), refreshCampaigns()]);
  const campaign = hashCampaignId();
  if (campaign && (await openCampaign(campaign))) return;
  const wanted = hashConversationId();
  let opened = false;
  if (wanted) opened = await openConversation(wanted);
  if (!opened && state.conversations.length) opened = await openConversation(state.conversations[0].id);
  if (!opened) updateEmptyState();
  if (!busy()) els.input.focus();
}

function slotOf(tid, slot) {
  const view = state.turns.get(tid);
  return view && view.slots.get(slot);
}

// Test hooks (tests/browser): what the page holds, read without scraping the DOM.
window.duet = {
  sockets,
  /** The exact text assembled so far for a slot of a turn (null if unknown). */
  rawText(tid, slot) {
    const s = slotOf(tid, slot);
    return s ? s.text : null;
  },
  /** Status of a slot as the UI holds it. */
  status(tid, slot) {
    const s = slotOf(tid, slot);
    return s ? s.status : null;
  },
  /** Last seq held for a slot. */
  seq(tid, slot) {
    const s = slotOf(tid, slot);
    return s ? s.seq : null;
  },
  currentConversationId: () => state.currentId,
  currentCampaignId: () => campaigns.id,
  reload: () => (state.currentId ? openConversation(state.currentId) : refreshConversations()),
  ready: null,
};

window.duet.ready = init();
