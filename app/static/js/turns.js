/* What the user does with turns: send a message, stop the answers, re-roll; and the one click
 * listener of the turn list, which hands each button to what it does. */
import { cancelEdit, cancelRating, copyAnswer, openRating, saveEdit, sendRating, startEdit } from "./answer-actions.js";
import { api, enc } from "./api.js";
import { autosize, updateComposer } from "./composer.js";
import { DEFAULT_TITLE, refreshConversations } from "./conversation-list.js";
import { createConversation } from "./conversations.js";
import { els, h, scrollToBottom, updateEmptyState } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { announce, hideError, showError } from "./notices.js";
import { connect } from "./relay.js";
import { shownText } from "./pane-view.js";
import { busy, state, turnStreaming } from "./state.js";
import { t } from "./strings.js";
import { buildTurnView, foldOlderVotes, showSlot, updateTurnUI } from "./turn-view.js";
import { explain, retry, skip, vote } from "./vote-actions.js";
import { SLOTS, slotsOf } from "./vocabulary.js";
import { updateVote } from "./vote-view.js";

function renderPendingTurn(content) {
  const el = h("li", { class: "turn pending" },
    h("div", { class: "user-row" }, h("div", { class: "user-bubble" }, h("p", { class: "user-text" }, content))),
    h("p", { class: "pending-note" }, h("span", { class: "spinner", "aria-hidden": "true" }), t("turn.sending")));
  els.turnList.append(el);
  updateEmptyState();
  scrollToBottom();
  return el;
}

/** Send the composer's message (creating a conversation first if none is open). */
export async function sendMessage() {
  const content = els.input.value;
  if (!content.trim() || busy()) return;
  const mode = els.modePair.checked ? "pair" : "auto";
  hideError();
  state.sending = true;
  updateComposer();
  announce(t("announce.sending"));
  let pending = null;
  try {
    if (!state.currentId) {
      const prompt = els.systemPromptInput.value.trim();
      await createConversation(prompt);
      if (prompt) els.systemPromptInput.value = "";
    }
    const cid = state.currentId;
    pending = renderPendingTurn(content);
    const res = await api("POST", `/api/conversations/${enc(cid)}/turns`, { content, mode });
    pending.remove();
    pending = null;
    els.input.value = "";
    autosize();
    if (state.currentId !== cid) return; // the user moved elsewhere; the turn shows when they return
    const slots = Array.isArray(res.slots) && res.slots.length ? res.slots : slotsOf(res.paired);
    const view = buildTurnView({
      id: res.id,
      content,
      paired: Boolean(res.paired),
      trigger: res.trigger,
      responses: slots.map((slot) => ({ slot, content: "", status: "streaming" })),
      feedback: null,
    });
    state.turns.set(view.id, view);
    els.turnList.append(view.el);
    foldOlderVotes();
    updateEmptyState();
    scrollToBottom();
    announce(t(view.paired ? "announce.streamingPair" : "announce.streaming"));
    state.sending = false;
    connect(view);
    const summary = state.conversations.find((c) => c.id === cid);
    if (!summary || summary.title === DEFAULT_TITLE) refreshConversations();
  } catch (e) {
    if (pending) pending.remove();
    updateEmptyState();
    showError(e.message);
    announce(t("announce.notSent"));
  } finally {
    state.sending = false;
    updateComposer();
  }
}

/** Ask the server to cancel every streaming turn. */
export async function stopStreaming() {
  const streaming = [...state.turns.values()].filter(turnStreaming);
  if (!streaming.length || state.stopping) return;
  state.stopping = true;
  els.stop.disabled = true;
  announce(t("announce.stopping"));
  for (const view of streaming) {
    try {
      await api("POST", `/api/turns/${enc(view.id)}/cancel`, {});
    } catch (e) {
      showError(e.message);
      state.stopping = false;
      els.stop.disabled = false;
    }
  }
}

async function reroll(view) {
  if (busy()) return;
  hideError();
  view.rerollButton.disabled = true;
  let res;
  try {
    res = await api("POST", `/api/turns/${enc(view.id)}/reroll`, {});
  } catch (e) {
    showError(e.message);
    updateTurnUI(view);
    return;
  }
  if (state.turns.get(view.id) !== view) return;
  const [first, second] = SLOTS;
  const original = view.slots.get(first);
  const fresh = buildTurnView({
    id: view.id,
    content: view.content,
    paired: true,
    trigger: res.trigger || "reroll",
    responses: [
      { slot: first, content: original ? original.text : "", status: original ? original.status : "streaming",
        finish_reason: original ? original.finishReason : null, id: original ? original.id : null,
        rating: original ? original.rating : null,
        edit: original && original.edited !== null ? { content: original.edited } : null },
      { slot: second, content: "", status: "streaming" },
    ],
    feedback: null,
  });
  for (const slot of fresh.slots.values()) renderMarkdown(slot.body, shownText(slot));
  view.el.replaceWith(fresh.el);
  state.turns.set(fresh.id, fresh);
  announce(t("announce.streamingSecond"));
  connect(fresh);
  fresh.el.scrollIntoView({ block: "nearest" });
}

/** Clicks on anything of a turn (one listener for the whole list), by what was clicked. */
export function bindTurnActions() {
  els.turnList.addEventListener("click", (e) => {
    const button = e.target.closest("button");
    const turnEl = button && button.closest(".turn[data-turn-id]");
    const view = turnEl && state.turns.get(turnEl.dataset.turnId);
    if (!view || view.el !== turnEl || button.disabled) return;
    const paneEl = button.closest(".pane[data-slot]");
    const slot = paneEl ? view.slots.get(paneEl.dataset.slot) : null;
    for (const [selector, act] of ACTIONS) {
      if (button.matches(selector)) {
        act(view, button, slot);
        return;
      }
    }
  });
  els.turnList.addEventListener("input", (e) => {
    const turnEl = e.target.closest(".turn[data-turn-id]");
    const view = turnEl && state.turns.get(turnEl.dataset.turnId);
    if (view && e.target === view.reason) markExplainDirty(view);
  });
}

function markExplainDirty(view) {
  view.explainDirty = true;
  if (view.feedback) view.explainStatus.textContent = "";
}

function toggleChip(view, button) {
  button.setAttribute("aria-pressed", button.getAttribute("aria-pressed") === "true" ? "false" : "true");
  if (view.voteChips && view.voteChips.includes(button)) markExplainDirty(view);
}

function toggleFold(view) {
  view.collapsed = !view.collapsed;
  view.unfolded = !view.collapsed;
  updateVote(view);
  if (!view.collapsed) (view.voteResult.hidden ? view.voteButtons[0] : view.voteResult).focus();
}

function openSkip(view, open) {
  view.skipOpen = open;
  updateVote(view);
  (open ? view.skipReason : view.skipButton).focus();
}

// selector -> what a click on a matching button does (the first match wins).
const ACTIONS = [
  ["button[data-choice]", (view, b) => vote(view, b.dataset.choice)],
  ["button.reroll", (view) => reroll(view)],
  ["button.retry", (view) => retry(view)],
  ["button.tag-chip", (view, b) => toggleChip(view, b)],
  ["button.explain-save", (view) => explain(view)],
  ["button.skip-open", (view) => openSkip(view, true)],
  ["button.skip-cancel", (view) => openSkip(view, false)],
  ["button.skip-confirm", (view) => skip(view)],
  ["button.vote-summary", (view) => toggleFold(view)],
  ["button.segment", (view, b) => showSlot(view, b.dataset.show)],
  ["button.copy", (view, b, slot) => slot && copyAnswer(view, slot)],
  ["button.thumb", (view, b, slot) => slot && openRating(view, slot, b.dataset.rating)],
  ["button.rate-send", (view, b, slot) => slot && sendRating(view, slot)],
  ["button.rate-cancel", (view, b, slot) => slot && cancelRating(view, slot)],
  ["button.edit", (view, b, slot) => slot && startEdit(view, slot)],
  ["button.edit-save", (view, b, slot) => slot && saveEdit(view, slot)],
  ["button.edit-cancel", (view, b, slot) => slot && cancelEdit(view, slot)],
];
