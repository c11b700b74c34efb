/* The stream relay: one websocket per streaming turn, resumed after what the page holds.
 *
 * A first connection replays every slot from seq 1; a reconnect asks for what follows with
 * ?after_a=<seq>&after_b=<seq>. Tokens are kept in seq order: a repeat is dropped, a gap
 * drops the socket and resumes from the last seq held (docs/api.md has the protocol). It
 * asks for joined tokens (join_tokens=1): one message may then cover seqs first_seq..seq.
 */
import { learnResponseIds } from "./answer-actions.js";
import { api, enc } from "./api.js";
import { updateComposer } from "./composer.js";
import { DEFAULT_TITLE, refreshConversations } from "./conversation-list.js";
import { scheduleRender } from "./markdown.js";
import { announce, showError } from "./notices.js";
import { state, turnStreaming } from "./state.js";
import { t } from "./strings.js";
import { updateTurnUI } from "./turn-view.js";
import { TERMINAL_STATUSES } from "./vocabulary.js";

const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
const MAX_GAP_RESYNCS = 3;
const CLOSE_UNKNOWN_TURN = 4404;
const CLOSE_CLIENT_GAP = 4000;

/** Turn id -> its open WebSocket (read by the browser tests through window.duet). */
export const sockets = new Map();
const links = new Map(); // turn id -> Link (socket bookkeeping)

function socketUrl(tid, after) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  // join_tokens=1: a server running behind may join a slot's tokens into one message.
  const query = ["join_tokens=1"];
  if (after) {
    for (const [slot, seq] of Object.entries(after)) query.push(`after_${slot}=${seq}`);
  }
  return `${proto}//${location.host}/ws/turns/${enc(tid)}?${query.join("&")}`;
}

/** Open (or reopen) the socket of a turn. A first connection replays everything. */
export function connect(view) {
  const existing = links.get(view.id);
  if (existing && !existing.finished) return existing;
  const link = { view, ws: null, attempt: 0, timer: 0, ended: false, finished: false, gapResyncs: 0, failedOpens: 0 };
  links.set(view.id, link);
  // The replay rebuilds every slot from seq 1: keep showing what we have until it arrives.
  // A slot that has already finished (A of a re-roll, say) keeps its status: the replay
  // repeats its final event, and it must not flash back to "Streaming…" meanwhile.
  for (const slot of view.slots.values()) {
    slot.stale = slot.text !== "";
    slot.seq = 0;
    if (!TERMINAL_STATUSES.has(slot.status)) {
      slot.status = "streaming";
      slot.error = null;
    }
  }
  updateTurnUI(view);
  updateComposer();
  openSocket(link, null);
  return link;
}

function openSocket(link, after) {
  const view = link.view;
  let ws;
  try {
    ws = new WebSocket(socketUrl(view.id, after));
  } catch {
    scheduleReconnect(link);
    return;
  }
  link.ws = ws;
  link.opened = false;
  sockets.set(view.id, ws);
  ws.addEventListener("open", () => {
    if (link.ws !== ws) return;
    link.opened = true;
    link.failedOpens = 0;
    if (!view.reconnecting.hidden) {
      view.reconnecting.hidden = true;
      announce(t(view.paired ? "announce.reconnectedPair" : "announce.reconnected"));
    }
  });
  ws.addEventListener("message", (ev) => {
    if (link.ws !== ws) return;
    let msg;
    try {
      msg = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (msg && typeof msg === "object") handleEvent(link, msg);
  });
  ws.addEventListener("close", (ev) => {
    if (link.ws !== ws) return;
    link.ws = null;
    if (sockets.get(view.id) === ws) sockets.delete(view.id);
    onSocketClosed(link, ev.code);
  });
}

function handleEvent(link, msg) {
  const view = link.view;
  link.attempt = 0;
  if (msg.type === "end") {
    link.ended = true;
    if (!turnStreaming(view)) finishLink(link);
    else if (link.ws) link.ws.close(1000);
    return;
  }
  const slot = view.slots.get(msg.slot);
  if (!slot) return;
  if (slot.stale) {
    slot.stale = false;
    slot.text = "";
    slot.seq = 0;
    scheduleRender(slot);
  }
  const before = slot.status;
  switch (msg.type) {
    case "token": {
      if (!Number.isInteger(msg.seq) || msg.seq <= slot.seq) return; // already held
      // Joined tokens carry the seq of their first as first_seq (they run up to seq).
      const first = Number.isInteger(msg.first_seq) ? msg.first_seq : msg.seq;
      if (first !== slot.seq + 1) {
        resync(link);
        return;
      }
      slot.text += typeof msg.text === "string" ? msg.text : "";
      slot.seq = msg.seq;
      link.gapResyncs = 0;
      scheduleRender(slot);
      return;
    }
    case "done":
      if (Number.isInteger(msg.seq) && msg.seq > slot.seq) {
        resync(link);
        return;
      }
      slot.status = "done";
      slot.finishReason = msg.finish_reason || null;
      break;
    case "error":
      slot.status = "error";
      slot.error = typeof msg.message === "string" && msg.message ? msg.message : null;
      break;
    case "cancelled":
      slot.status = "cancelled";
      break;
    case "reset":
      slot.text = "";
      slot.seq = 0;
      slot.status = "streaming";
      slot.error = null;
      scheduleRender(slot);
      break;
    default:
      return;
  }
  if (before !== slot.status || msg.type === "error") onSlotStatusChanged(view);
}

/** A seq gap: drop this socket and resume from what we hold. */
function resync(link) {
  link.gapResyncs += 1;
  if (link.gapResyncs > MAX_GAP_RESYNCS) {
    failStreamingSlots(link.view, t("relay.gap"));
    finishLink(link);
    return;
  }
  link.resyncNow = true;
  if (link.ws) link.ws.close(CLOSE_CLIENT_GAP, "seq gap");
}

function onSocketClosed(link, code) {
  const view = link.view;
  if (link.finished) return;
  if (code === CLOSE_UNKNOWN_TURN) {
    failStreamingSlots(view, t("relay.unknown"));
    showError(t("relay.notFound"));
    finishLink(link);
    return;
  }
  if (!turnStreaming(view)) {
    finishLink(link);
    return;
  }
  if (link.ended) {
    // "end" arrived yet a slot never reached a final state: nothing more will come.
    failStreamingSlots(view, t("relay.ended"));
    finishLink(link);
    return;
  }
  if (!link.opened) link.failedOpens += 1;
  scheduleReconnect(link);
}

async function scheduleReconnect(link) {
  const view = link.view;
  const immediate = link.resyncNow;
  link.resyncNow = false;
  const delay = immediate ? 0 : BACKOFF_MS[Math.min(link.attempt, BACKOFF_MS.length - 1)];
  link.attempt += 1;
  view.reconnecting.hidden = immediate;
  if (!immediate) announce(t("announce.reconnecting"));
  // An upgrade refused with 404 looks like a network failure: ask the API now and then.
  if (link.failedOpens >= 3 && link.failedOpens % 3 === 0 && state.currentId) {
    const exists = await turnStillExists(view.id);
    if (link.finished) return;
    if (exists === false) {
      failStreamingSlots(view, t("relay.unknown"));
      finishLink(link);
      return;
    }
  }
  clearTimeout(link.timer);
  link.timer = setTimeout(() => {
    link.timer = 0;
    if (link.finished) return;
    const after = {};
    for (const slot of view.slots.values()) after[slot.name] = slot.seq;
    openSocket(link, after);
  }, delay);
}

/** Back online: reconnect every socket that waits out a backoff, now. */
export function reconnectWaiting() {
  for (const link of links.values()) {
    if (link.timer) {
      clearTimeout(link.timer);
      link.timer = 0;
      link.resyncNow = true;
      scheduleReconnect(link);
    }
  }
}

async function turnStillExists(tid) {
  try {
    const conv = await api("GET", `/api/conversations/${enc(state.currentId)}`);
    return (conv.turns || []).some((t) => t.id === tid);
  } catch (e) {
    return e.status === 404 ? false : null;
  }
}

function failStreamingSlots(view, message) {
  for (const slot of view.slots.values()) {
    if (slot.stale) {
      slot.stale = false;
    }
    if (slot.status === "streaming") {
      slot.status = "error";
      slot.error = message;
    }
  }
  onSlotStatusChanged(view);
}

function finishLink(link) {
  link.finished = true;
  clearTimeout(link.timer);
  link.view.reconnecting.hidden = true;
  if (links.get(link.view.id) === link) links.delete(link.view.id);
  if (link.ws) {
    const ws = link.ws;
    link.ws = null;
    try {
      ws.close(1000);
    } catch { /* already closed */ }
    if (sockets.get(link.view.id) === ws) sockets.delete(link.view.id);
  }
  updateComposer();
}

/** Close every turn's socket (another conversation is about to be shown). */
export function closeAllLinks() {
  for (const link of [...links.values()]) finishLink(link);
}

function onSlotStatusChanged(view) {
  updateTurnUI(view);
  updateComposer();
  if (turnStreaming(view)) return;
  const slots = [...view.slots.values()];
  for (const slot of slots) scheduleRender(slot);
  if (state.currentId) learnResponseIds(view, state.currentId);
  const failed = slots.find((s) => s.status === "error");
  if (failed) announce(t("announce.failed", { error: failed.error || t("pane.failed") }));
  else if (slots.some((s) => s.status === "cancelled")) announce(t("announce.stopped"));
  else if (view.paired && !view.feedback) announce(t("announce.donePair"));
  else announce(t("announce.done"));
  // The server names a conversation after its first message.
  if (state.conversations.some((c) => c.id === state.currentId && c.title === DEFAULT_TITLE)) refreshConversations();
}
