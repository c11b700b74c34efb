/* What the user does with a pair: vote, then explain (PATCH within the edit window), skip,
 * try a failed or stopped answer again, and the 1-4 keys.
 */
import { api, enc } from "./api.js";
import { updateComposer } from "./composer.js";
import { els, isNearBottom, scrollToBottom } from "./dom.js";
import { announce, hideError, showError } from "./notices.js";
import { pressedTags } from "./pane-view.js";
import { connect } from "./relay.js";
import { busy, state } from "./state.js";
import { t } from "./strings.js";
import { updateTurnUI } from "./turn-view.js";
import { CHOICES } from "./vocabulary.js";
import { resultText, updateVote } from "./vote-view.js";

function reveal(view, responses) {
  for (const r of responses || []) {
    const slot = view.slots.get(r.slot);
    if (!slot) continue;
    slot.endpoint = r.endpoint || null;
    slot.model = r.model || null;
  }
}

/** Record a vote with whatever reason and tags are already there; the reason box stays open.
 * Then view.onSettle(view, error), if the view has one (a campaign moves to its next item). */
export async function vote(view, choice) {
  if (view.feedback || view.skip || view.voting) return;
  const reason = view.reason.value.trim();
  const tags = pressedTags(view.voteChips);
  view.voting = true;
  updateVote(view);
  hideError();
  const body = { choice };
  if (reason) body.reason = reason;
  if (tags.length) body.tags = tags;
  let failure = null;
  try {
    const res = await api("POST", `/api/turns/${enc(view.id)}/feedback`, body);
    view.feedback = { choice: res.choice || choice, reason: res.reason ?? (reason || null), tags: res.tags || tags,
      created_at: res.created_at || new Date().toISOString() };
    view.explainDirty = false;
    reveal(view, res.responses);
    announce(resultText(view));
  } catch (e) {
    failure = e;
    showError(e.message);
    if (e.status === 409) await syncFeedback(view);
  } finally {
    view.voting = false;
    const stick = isNearBottom(); // the reveal makes the turn taller
    updateTurnUI(view);
    if (stick) scrollToBottom();
  }
  if (view.feedback) view.voteResult.focus({ preventScroll: true });
  if (view.onSettle) view.onSettle(view, failure);
}

/** After a refused vote, take over a vote recorded elsewhere (another tab, say). */
async function syncFeedback(view) {
  if (!state.currentId) return; // a campaign's turn: its conversation is nobody's to read
  try {
    const conv = await api("GET", `/api/conversations/${enc(state.currentId)}`);
    const turn = (conv.turns || []).find((x) => x.id === view.id);
    if (!turn) return;
    view.feedback = turn.feedback || null;
    view.skip = turn.skip || null;
    reveal(view, turn.responses);
  } catch {
    /* the banner already explains the refusal */
  }
}

/** Save the reason and tags of a vote already cast (PATCH, within FEEDBACK_EDIT_SECONDS). */
export async function explain(view) {
  if (!view.feedback) return;
  const body = { reason: view.reason.value.trim() || null, tags: pressedTags(view.voteChips) };
  view.explainSave.disabled = true;
  view.explainStatus.textContent = t("vote.saving");
  hideError();
  try {
    const res = await api("PATCH", `/api/turns/${enc(view.id)}/feedback`, body);
    view.feedback = { ...view.feedback, reason: res.reason ?? body.reason, tags: res.tags || body.tags };
    view.explainDirty = false;
    view.explainStatus.textContent = t("vote.saved");
  } catch (e) {
    view.explainStatus.textContent = "";
    showError(e.message);
  } finally {
    view.explainSave.disabled = false;
    updateVote(view);
  }
}

/** Decline to vote on a pair, with the optional reason typed in the skip form; then
 * view.onSettle(view, error), as after a vote. */
export async function skip(view) {
  if (view.feedback || view.skip) return;
  const reason = view.skipReason.value.trim();
  hideError();
  let failure = null;
  try {
    const res = await api("POST", `/api/turns/${enc(view.id)}/skip`, reason ? { reason } : {});
    view.skip = { reason: res.reason ?? (reason || null), created_at: res.created_at || null };
    view.skipOpen = false;
    announce(t("announce.skipped"));
  } catch (e) {
    failure = e;
    showError(e.message);
    if (e.status === 409) await syncFeedback(view);
  }
  updateTurnUI(view);
  if (view.onSettle) view.onSettle(view, failure);
}

/** Start every failed or stopped answer of a turn again; the socket then streams them anew. */
export async function retry(view) {
  if (state.sending) return;
  hideError();
  for (const slot of view.slots.values()) slot.retryButton.disabled = true;
  let res;
  try {
    res = await api("POST", `/api/turns/${enc(view.id)}/retry`, {});
  } catch (e) {
    showError(e.message);
    for (const slot of view.slots.values()) slot.retryButton.disabled = false;
    return;
  }
  if (state.turns.get(view.id) !== view) return;
  for (const name of res.slots || []) {
    const slot = view.slots.get(name);
    if (!slot) continue;
    Object.assign(slot, { status: "streaming", error: null, finishReason: null, text: "", seq: 0 });
    slot.retryButton.disabled = false;
  }
  announce(t("announce.retrying"));
  connect(view);
  updateComposer();
}

/** The pair the 1-4 keys vote on: the latest one that can take a vote now. */
function votablePair() {
  const views = [...state.turns.values()].reverse();
  const view = views.find((v) => v.paired);
  if (!view || view.feedback || view.skip || view.voting || view.collapsed) return null;
  return [...view.slots.values()].every((s) => s.status === "done") ? view : null;
}

/** Keys 1 = A, 2 = B, 3 = tie, 4 = both bad, unless the user is typing. */
export function onVoteKey(e) {
  if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || e.isComposing) return;
  const index = ["1", "2", "3", "4"].indexOf(e.key);
  if (index < 0 || index >= CHOICES.length) return;
  const target = e.target;
  const typing = target instanceof HTMLElement && (target.isContentEditable || target.matches("input, textarea, select"));
  if (typing && !(target === els.input && els.input.value === "")) return;
  const view = votablePair();
  if (!view || busy()) return;
  e.preventDefault();
  vote(view, CHOICES[index]);
}
