/* What the user does with turns: send a message, stop the answers, vote on a pair, re-roll. */
import { api, enc } from "./api.js";
import { autosize, updateComposer } from "./composer.js";
import { refreshConversations } from "./conversation-list.js";
import { createConversation } from "./conversations.js";
import { els, h, isNearBottom, scrollToBottom, updateEmptyState } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { announce, hideError, showError } from "./notices.js";
import { connect } from "./relay.js";
import { busy, state, turnStreaming } from "./state.js";
import { CHOICE_LABEL, buildTurnView, updateTurnUI, updateVote } from "./turn-view.js";
import { SLOTS, slotsOf } from "./vocabulary.js";

function renderPendingTurn(content) {
  const el = h("li", { class: "turn pending" },
    h("div", { class: "user-row" }, h("div", { class: "user-bubble" }, h("p", { class: "user-text" }, content))),
    h("p", { class: "pending-note" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Sending…"));
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
  announce("Sending…");
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
    updateEmptyState();
    scrollToBottom();
    announce(view.paired ? "Streaming two answers…" : "Streaming…");
    state.sending = false;
    connect(view);
    const summary = state.conversations.find((c) => c.id === cid);
    if (!summary || summary.title === "New conversation") refreshConversations();
  } catch (e) {
    if (pending) pending.remove();
    updateEmptyState();
    showError(e.message);
    announce("Not sent.");
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
  announce("Stopping…");
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

async function vote(view, choice) {
  if (view.feedback || view.voting) return;
  const reason = view.reason.value.trim();
  view.voting = true;
  updateVote(view);
  hideError();
  try {
    const res = await api("POST", `/api/turns/${enc(view.id)}/feedback`, reason ? { choice, reason } : { choice });
    view.feedback = { choice: res.choice || choice, reason: res.reason || reason || null, created_at: res.created_at || null };
    for (const r of res.responses || []) {
      const slot = view.slots.get(r.slot);
      if (!slot) continue;
      slot.endpoint = r.endpoint || null;
      slot.model = r.model || null;
    }
    announce(`Vote recorded: ${CHOICE_LABEL[view.feedback.choice] || view.feedback.choice}`);
  } catch (e) {
    showError(e.message);
    if (e.status === 409) await syncFeedback(view);
  } finally {
    view.voting = false;
    const stick = isNearBottom(); // the result line makes the turn taller
    updateTurnUI(view);
    if (stick) scrollToBottom();
  }
  if (view.feedback) view.voteResult.focus({ preventScroll: true });
}

/** After a refused vote, take over a vote recorded elsewhere (another tab, say). */
async function syncFeedback(view) {
  try {
    const conv = await api("GET", `/api/conversations/${enc(state.currentId)}`);
    const turn = (conv.turns || []).find((t) => t.id === view.id);
    if (!turn || !turn.feedback) return;
    view.feedback = turn.feedback;
    for (const r of turn.responses || []) {
      const slot = view.slots.get(r.slot);
      if (slot) Object.assign(slot, { endpoint: r.endpoint || null, model: r.model || null });
    }
  } catch {
    /* the banner already explains the refusal */
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
        finish_reason: original ? original.finishReason : null },
      { slot: second, content: "", status: "streaming" },
    ],
    feedback: null,
  });
  for (const slot of fresh.slots.values()) renderMarkdown(slot.body, slot.text);
  view.el.replaceWith(fresh.el);
  state.turns.set(fresh.id, fresh);
  announce("Streaming a second answer…");
  connect(fresh);
  fresh.el.scrollIntoView({ block: "nearest" });
}

/** Clicks on a turn's vote buttons and re-roll button (one listener for the whole list). */
export function bindTurnActions() {
  els.turnList.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-choice], button.reroll");
    const turnEl = button && button.closest(".turn[data-turn-id]");
    const view = turnEl && state.turns.get(turnEl.dataset.turnId);
    if (!view || view.el !== turnEl) return;
    if (button.dataset.choice) vote(view, button.dataset.choice);
    else reroll(view);
  });
}
