/* Duet browser UI: conversations, streamed single and paired answers, votes.
 *
 * Plain ES2020, no build step. Talks to the JSON API and the per-turn websocket
 * described in docs/api.md. Test hooks: window.duet (sockets, rawText, ...),
 * .turn[data-turn-id], .pane[data-slot][data-status].
 */
(() => {
  "use strict";

  const CHOICES = ["a", "b", "tie", "both_bad"];
  const CHOICE_LABEL = { a: "A is better", b: "B is better", tie: "Tie", both_bad: "Both are bad" };
  const STATUS_LABEL = { streaming: "Streaming…", done: "Done", error: "Failed", cancelled: "Stopped" };
  const TERMINAL = new Set(["done", "error", "cancelled"]);
  const BACKOFF_MS = [500, 1000, 2000, 4000, 8000, 10000];
  const MAX_GAP_RESYNCS = 3;
  const CLOSE_UNKNOWN_TURN = 4404;
  const CLOSE_CLIENT_GAP = 4000;
  const PAIR_NOTE = {
    sampled: "Two answers this time. Which one is better?",
    requested: "You asked to compare two answers.",
    reroll: "Re-rolled for comparison.",
  };

  // ---------------------------------------------------------------- DOM helpers

  const byId = (id) => document.getElementById(id);
  let uidCounter = 0;
  const uid = (prefix) => `${prefix}-${++uidCounter}`;

  /** Create an element; attrs with true become empty attributes, null/false are skipped. */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") el.className = value;
      else el.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const els = {
    status: byId("status"),
    sidebar: byId("sidebar"),
    sidebarToggle: byId("sidebar-toggle"),
    sidebarClose: byId("sidebar-close"),
    sidebarBackdrop: byId("sidebar-backdrop"),
    newConversation: byId("new-conversation"),
    newWithPrompt: byId("new-conversation-with-prompt"),
    systemPromptInput: byId("system-prompt"),
    systemPromptForm: document.querySelector(".system-prompt-form"),
    list: byId("conversation-list"),
    listEmpty: byId("conversation-list-empty"),
    errorBanner: byId("error-banner"),
    errorText: byId("error-text"),
    errorDismiss: byId("error-dismiss"),
    turnsScroller: byId("turns"),
    turnList: byId("turn-list"),
    emptyState: byId("empty-state"),
    convSystemPrompt: byId("conversation-system-prompt"),
    composer: byId("composer"),
    input: byId("composer-input"),
    modePair: byId("mode-pair"),
    send: byId("send"),
    stop: byId("stop"),
  };

  // ---------------------------------------------------------------- state

  const state = {
    conversations: [],
    currentId: null,
    conversation: null,
    turns: new Map(), // turn id -> TurnView of the open conversation
    sending: false,
    stopping: false,
    loadToken: 0,
  };
  const sockets = new Map(); // turn id -> WebSocket (exposed for tests)
  const links = new Map(); // turn id -> Link (socket bookkeeping)

  // ---------------------------------------------------------------- HTTP

  class ApiError extends Error {
    constructor(message, status, code) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  /** Call the JSON API; throws ApiError whose message is fit to show to the user. */
  async function api(method, path, body) {
    const init = { method, headers: { Accept: "application/json" }, credentials: "same-origin" };
    if (method !== "GET") {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body || {});
    }
    let res;
    try {
      res = await fetch(path, init);
    } catch (_) {
      throw new ApiError("Could not reach the server. Check your connection and try again.", 0, "network");
    }
    let data = null;
    try {
      const text = await res.text();
      data = text ? JSON.parse(text) : {};
    } catch (_) {
      data = null;
    }
    if (!res.ok) {
      const err = data && data.error;
      const message = err && typeof err.message === "string" && err.message
        ? err.message
        : `Something went wrong on the server (HTTP ${res.status}). Please try again.`;
      throw new ApiError(message, res.status, err && err.code);
    }
    if (data === null) throw new ApiError("The server sent an answer that could not be read.", res.status, "bad_response");
    return data;
  }

  const enc = encodeURIComponent;

  // ---------------------------------------------------------------- markdown

  const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

  const markdown = {
    parser: null,
    init() {
      const { marked, DOMPurify } = window;
      if (marked && typeof marked.Marked === "function") {
        this.parser = new marked.Marked({
          gfm: true,
          breaks: true,
          async: false,
          renderer: {
            // Raw HTML from the model is shown as the text it is, never parsed: a chat answer
            // that contains <img onerror=...> then reads as written, and the browser does not
            // even see the attribute (Chrome reports a CSP violation for merely parsing one).
            html(token) {
              const text = escapeHtml(token.text);
              return token.block ? `<p class="raw-html">${text}</p>` : text;
            },
            // Remote images would be blocked by the page's CSP: link to them instead.
            image(token) {
              if (/^data:image\//i.test(token.href || "")) return false;
              const label = escapeHtml(token.text || token.href || "image");
              return `<a href="${escapeHtml(token.href || "")}">${label}</a>`;
            },
          },
        });
      }
      if (DOMPurify && typeof DOMPurify.addHook === "function") {
        DOMPurify.addHook("afterSanitizeAttributes", (node) => {
          if (node.tagName === "A" && node.hasAttribute("href")) {
            node.setAttribute("target", "_blank");
            node.setAttribute("rel", "noopener noreferrer nofollow");
          }
          if (node.tagName === "IMG" && !/^data:image\//i.test(node.getAttribute("src") || "")) {
            node.removeAttribute("src");
          }
        });
      }
    },
    /** Render model text into el as sanitised HTML (plain text if the libraries are missing). */
    render(el, text) {
      if (this.parser && window.DOMPurify) {
        try {
          el.innerHTML = window.DOMPurify.sanitize(this.parser.parse(text), {
            FORBID_TAGS: ["style", "form", "input", "button", "textarea", "select"],
            FORBID_ATTR: ["style"],
          });
          return;
        } catch (_) {
          /* fall through to plain text */
        }
      }
      el.textContent = text;
    },
  };

  const dirtySlots = new Set();
  let renderFrame = 0;

  function scheduleRender(slot) {
    dirtySlots.add(slot);
    if (!renderFrame) renderFrame = requestAnimationFrame(flushRender);
  }

  function flushRender() {
    renderFrame = 0;
    const stick = isNearBottom();
    for (const slot of dirtySlots) markdown.render(slot.body, slot.text);
    dirtySlots.clear();
    if (stick) scrollToBottom();
  }

  function isNearBottom() {
    const s = els.turnsScroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  function scrollToBottom() {
    els.turnsScroller.scrollTop = els.turnsScroller.scrollHeight;
  }

  // ---------------------------------------------------------------- status line & errors

  function announce(text) {
    els.status.textContent = text;
  }

  function showError(message) {
    els.errorText.textContent = message;
    els.errorBanner.hidden = false;
  }

  function hideError() {
    els.errorBanner.hidden = true;
    els.errorText.textContent = "";
  }

  // ---------------------------------------------------------------- conversations list

  const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

  function formatDate(iso) {
    const d = new Date(iso);
    return Number.isNaN(d.getTime()) ? "" : dateFormat.format(d);
  }

  async function refreshConversations() {
    try {
      const data = await api("GET", "/api/conversations");
      state.conversations = Array.isArray(data.conversations) ? data.conversations : [];
    } catch (e) {
      showError(e.message);
    }
    renderConversationList();
  }

  function renderConversationList() {
    const items = state.conversations.map((c) => {
      const current = c.id === state.currentId;
      const link = h("a", {
        class: "conversation-link",
        href: `#c=${enc(c.id)}`,
        "aria-current": current ? "page" : null,
        "data-conversation-id": c.id,
      },
      h("span", { class: "conversation-title" }, c.title || "New conversation"),
      c.created_at ? h("time", { class: "conversation-date", datetime: c.created_at }, formatDate(c.created_at)) : null);
      return h("li", null, link);
    });
    els.list.replaceChildren(...items);
    els.listEmpty.hidden = items.length > 0;
  }

  function hashConversationId() {
    const m = /^#c=(.+)$/.exec(location.hash);
    if (!m) return null;
    try {
      return decodeURIComponent(m[1]);
    } catch (_) {
      return null;
    }
  }

  function setHash(cid) {
    const want = `#c=${enc(cid)}`;
    if (location.hash !== want) history.replaceState(null, "", want);
  }

  /** Load and show a conversation; returns false when it could not be loaded. */
  async function openConversation(cid) {
    const token = ++state.loadToken;
    let conv;
    try {
      conv = await api("GET", `/api/conversations/${enc(cid)}`);
    } catch (e) {
      if (token === state.loadToken) showError(e.status === 404 ? "That conversation could not be found." : e.message);
      return false;
    }
    if (token !== state.loadToken) return false;
    showConversation(conv);
    return true;
  }

  function showConversation(conv) {
    closeAllLinks();
    state.currentId = conv.id;
    state.conversation = conv;
    state.turns.clear();
    setHash(conv.id);
    document.title = conv.title && conv.title !== "New conversation" ? `${conv.title} · Duet` : "Duet";

    const prompt = conv.system_prompt;
    els.convSystemPrompt.hidden = !prompt;
    els.convSystemPrompt.open = false;
    els.convSystemPrompt.querySelector(".system-prompt-text").textContent = prompt || "";

    const nodes = [];
    for (const turn of conv.turns || []) {
      const view = buildTurnView(turn);
      state.turns.set(view.id, view);
      nodes.push(view.el);
    }
    els.turnList.replaceChildren(...nodes);
    for (const view of state.turns.values()) {
      for (const slot of view.slots.values()) markdown.render(slot.body, slot.text);
      if (turnStreaming(view)) connect(view);
    }
    updateEmptyState();
    renderConversationList();
    updateComposer();
    scrollToBottom();
  }

  async function createConversation(systemPrompt) {
    const body = systemPrompt ? { system_prompt: systemPrompt } : {};
    const conv = await api("POST", "/api/conversations", body);
    if (!Array.isArray(conv.turns)) conv.turns = [];
    state.conversations = [
      { id: conv.id, title: conv.title || "New conversation", created_at: conv.created_at },
      ...state.conversations.filter((c) => c.id !== conv.id),
    ];
    state.loadToken++; // a pending openConversation must not replace this one
    showConversation(conv);
    return conv;
  }

  async function startNewConversation(withPrompt) {
    hideError();
    const prompt = withPrompt ? els.systemPromptInput.value.trim() : "";
    // Reuse the open conversation when it is still empty, rather than piling up empty ones.
    if (!prompt && state.conversation && state.turns.size === 0 && !state.conversation.system_prompt) {
      closeSidebar();
      els.input.focus();
      return;
    }
    if (state.sending) return;
    try {
      await createConversation(prompt);
      if (prompt) {
        els.systemPromptInput.value = "";
        els.systemPromptForm.open = false;
      }
      closeSidebar();
      els.input.focus();
    } catch (e) {
      showError(e.message);
    }
  }

  function updateEmptyState() {
    els.emptyState.hidden = els.turnList.childElementCount > 0;
  }

  // ---------------------------------------------------------------- turn views

  /**
   * Build the DOM and state for one turn.
   * turn: {id, content, paired, trigger, responses: [{slot, content, status, error, endpoint, model}], feedback}
   */
  function buildTurnView(turn) {
    const paired = Boolean(turn.paired);
    const view = {
      id: turn.id,
      content: turn.content || "",
      paired,
      trigger: turn.trigger || (paired ? "requested" : "single"),
      feedback: turn.feedback || null,
      slots: new Map(),
      voting: false,
      el: null,
    };
    const responses = new Map((turn.responses || []).map((r) => [r.slot, r]));
    const slotNames = paired ? ["a", "b"] : ["a"];

    const el = h("li", { class: `turn ${paired ? "paired" : "single"}`, "data-turn-id": view.id });
    el.append(h("div", { class: "user-row" },
      h("div", { class: "user-bubble" },
        h("span", { class: "visually-hidden" }, "You said: "),
        h("p", { class: "user-text" }, view.content))));

    if (paired) el.append(h("p", { class: "turn-note" }, PAIR_NOTE[view.trigger] || "Compare two answers."));

    const panes = h("div", { class: paired ? "pair-grid" : "single-response" });
    for (const name of slotNames) {
      const slot = buildSlot(view, name, responses.get(name));
      view.slots.set(name, slot);
      panes.append(slot.pane);
    }
    el.append(panes);

    view.reconnecting = h("p", { class: "reconnecting", hidden: true }, h("span", { class: "spinner", "aria-hidden": "true" }), "Reconnecting…");
    el.append(view.reconnecting);

    if (paired) {
      el.append(buildVote(view));
    } else {
      view.rerollButton = h("button", { type: "button", class: "button subtle reroll", hidden: true,
        title: "Generate a second answer to compare with this one" }, "Re-roll / compare");
      view.rerollButton.addEventListener("click", () => reroll(view));
      el.append(h("div", { class: "turn-actions" }, view.rerollButton));
    }
    view.el = el;
    updateTurnUI(view);
    return view;
  }

  function buildSlot(view, name, response) {
    const r = response || { content: "", status: "streaming" };
    const labelId = uid("pane-label");
    const label = view.paired
      ? h("h3", { class: `pane-label slot-${name}`, id: labelId }, name.toUpperCase())
      : h("h3", { class: "pane-label assistant", id: labelId }, "Answer");
    const chip = h("span", { class: "chip" });
    const body = h("div", { class: "pane-body md" });
    const errorEl = h("p", { class: "pane-error", hidden: true });
    const modelEl = h("p", { class: "model-name", hidden: true });
    const pane = h("article", { class: `pane slot-${name}`, "data-slot": name, "aria-labelledby": labelId },
      h("header", { class: "pane-head" }, label, chip), body, errorEl, modelEl);
    const slot = {
      name,
      text: typeof r.content === "string" ? r.content : "",
      seq: 0,
      status: TERMINAL.has(r.status) ? r.status : "streaming",
      finishReason: r.finish_reason || null,
      error: r.error || null,
      endpoint: r.endpoint || null,
      model: r.model || null,
      stale: false, // text came from HTTP and will be replaced by the socket's replay
      pane, body, chip, errorEl, modelEl,
    };
    renderSlotMeta(view, slot);
    return slot;
  }

  /** Status attributes, chip, error and model line of one pane (not the text). */
  function renderSlotMeta(view, slot) {
    slot.pane.dataset.status = slot.status;
    slot.pane.setAttribute("aria-busy", slot.status === "streaming" ? "true" : "false");
    slot.chip.className = `chip chip-${slot.status}`;
    slot.chip.textContent = STATUS_LABEL[slot.status] || slot.status;
    const errorText = slot.status === "error"
      ? (slot.error || "The answer could not be generated.")
      : slot.status === "cancelled" ? "Stopped before the answer was finished." : "";
    slot.errorEl.textContent = errorText;
    slot.errorEl.hidden = !errorText;
    slot.errorEl.classList.toggle("is-error", slot.status === "error");
    const showModel = Boolean(view.feedback) && Boolean(slot.endpoint || slot.model);
    slot.modelEl.hidden = !showModel;
    slot.modelEl.textContent = showModel
      ? `${view.paired ? `${slot.name.toUpperCase()}: ` : ""}${[slot.endpoint, slot.model].filter(Boolean).join(" · ")}`
      : "";
  }

  function buildVote(view) {
    const questionId = uid("vote-question");
    const reasonId = uid("vote-reason");
    const noteId = uid("vote-note");
    view.voteButtons = CHOICES.map((choice) => {
      const b = h("button", { type: "button", class: `button vote-button choice-${choice}`,
        "data-choice": choice, "aria-pressed": "false", "aria-describedby": noteId }, CHOICE_LABEL[choice]);
      b.addEventListener("click", () => vote(view, choice));
      return b;
    });
    view.reason = h("textarea", { id: reasonId, class: "vote-reason", rows: 2, placeholder: "What made the difference?" });
    view.voteNote = h("p", { class: "vote-note", id: noteId });
    view.voteResult = h("p", { class: "vote-result", tabindex: "-1", hidden: true });
    view.vote = h("div", { class: "vote", role: "group", "aria-labelledby": questionId },
      h("p", { class: "vote-question", id: questionId }, "Which answer is better?"),
      h("div", { class: "vote-buttons" }, ...view.voteButtons),
      h("div", { class: "vote-reason-field" },
        h("label", { for: reasonId }, "Reason (optional)"), view.reason),
      view.voteNote,
      view.voteResult);
    return view.vote;
  }

  const slotStreaming = (slot) => slot.status === "streaming";
  const turnStreaming = (view) => [...view.slots.values()].some(slotStreaming);

  /** Refresh everything of a turn that depends on its slots' statuses. */
  function updateTurnUI(view) {
    for (const slot of view.slots.values()) renderSlotMeta(view, slot);
    view.el.classList.toggle("is-streaming", turnStreaming(view));
    if (view.paired) updateVote(view);
    else if (view.rerollButton) {
      const slot = view.slots.get("a");
      view.rerollButton.hidden = !(slot && slot.status === "done");
      view.rerollButton.disabled = busy();
    }
  }

  function updateVote(view) {
    const slots = [...view.slots.values()];
    const allDone = slots.every((s) => s.status === "done");
    const failed = slots.filter((s) => s.status === "error" || s.status === "cancelled");
    const fb = view.feedback;
    const canVote = !fb && allDone && !view.voting;
    for (const b of view.voteButtons) {
      b.disabled = !canVote;
      const chosen = Boolean(fb) && fb.choice === b.dataset.choice;
      b.setAttribute("aria-pressed", chosen ? "true" : "false");
      b.classList.toggle("chosen", chosen);
    }
    view.reason.disabled = Boolean(fb) || view.voting || failed.length > 0;
    if (fb && fb.reason && !view.reason.value) view.reason.value = fb.reason;
    view.vote.classList.toggle("voted", Boolean(fb));

    let note = "";
    if (fb) note = "";
    else if (failed.length) {
      const which = failed.map((s) => s.name.toUpperCase()).join(" and ");
      const how = failed.every((s) => s.status === "cancelled") ? "was stopped" : "did not finish";
      note = `Voting is not possible: answer ${which} ${failed.length > 1 ? how.replace("was", "were") : how}.`;
    } else if (!allDone) note = "Voting opens when both answers are finished.";
    else if (view.voting) note = "Recording your vote…";
    view.voteNote.textContent = note;
    view.voteNote.hidden = !note;
    view.vote.classList.toggle("unavailable", !fb && failed.length > 0);

    view.voteResult.hidden = !fb;
    view.voteResult.textContent = fb ? `Vote recorded: ${CHOICE_LABEL[fb.choice] || fb.choice}` : "";
  }

  // ---------------------------------------------------------------- websocket relay

  function socketUrl(tid, after) {
    const proto = location.protocol === "https:" ? "wss:" : "ws:";
    let url = `${proto}//${location.host}/ws/turns/${enc(tid)}`;
    if (after) {
      const q = Object.entries(after).map(([slot, seq]) => `after_${slot}=${seq}`).join("&");
      if (q) url += `?${q}`;
    }
    return url;
  }

  /** Open (or reopen) the socket of a turn. A first connection replays everything. */
  function connect(view) {
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
      if (!TERMINAL.has(slot.status)) {
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
    } catch (_) {
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
        announce(view.paired ? "Reconnected. Streaming two answers…" : "Reconnected. Streaming…");
      }
    });
    ws.addEventListener("message", (ev) => {
      if (link.ws !== ws) return;
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch (_) {
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
        if (msg.seq > slot.seq + 1) {
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
      failStreamingSlots(link.view, "Part of the answer was lost in transit. Reload the page to see it in full.");
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
      failStreamingSlots(view, "This turn is unknown to the server.");
      showError("This answer could not be loaded: the turn was not found.");
      finishLink(link);
      return;
    }
    if (!turnStreaming(view)) {
      finishLink(link);
      return;
    }
    if (link.ended) {
      // "end" arrived yet a slot never reached a final state: nothing more will come.
      failStreamingSlots(view, "The answer ended unexpectedly.");
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
    if (!immediate) announce("Connection lost. Reconnecting…");
    // An upgrade refused with 404 looks like a network failure: ask the API now and then.
    if (link.failedOpens >= 3 && link.failedOpens % 3 === 0 && state.currentId) {
      const exists = await turnStillExists(view.id);
      if (link.finished) return;
      if (exists === false) {
        failStreamingSlots(view, "This turn is unknown to the server.");
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
      } catch (_) { /* already closed */ }
      if (sockets.get(link.view.id) === ws) sockets.delete(link.view.id);
    }
    updateComposer();
  }

  function closeAllLinks() {
    for (const link of [...links.values()]) finishLink(link);
  }

  function onSlotStatusChanged(view) {
    updateTurnUI(view);
    updateComposer();
    if (turnStreaming(view)) return;
    const slots = [...view.slots.values()];
    for (const slot of slots) scheduleRender(slot);
    const failed = slots.find((s) => s.status === "error");
    if (failed) announce(`Failed: ${failed.error || "the answer could not be generated."}`);
    else if (slots.some((s) => s.status === "cancelled")) announce("Stopped.");
    else if (view.paired && !view.feedback) announce("Done. Which answer is better?");
    else announce("Done.");
    // The server names a conversation after its first message.
    if (state.conversations.some((c) => c.id === state.currentId && c.title === "New conversation")) refreshConversations();
  }

  // ---------------------------------------------------------------- actions

  const busy = () => state.sending || [...state.turns.values()].some(turnStreaming);

  function updateComposer() {
    const streaming = [...state.turns.values()].some(turnStreaming);
    const isBusy = streaming || state.sending;
    const focusWasInComposer = els.composer.contains(document.activeElement) || document.activeElement === document.body;
    els.input.disabled = isBusy;
    els.modePair.disabled = isBusy;
    els.send.disabled = state.sending;
    els.send.hidden = streaming;
    els.stop.hidden = !streaming;
    els.stop.disabled = state.stopping;
    els.composer.classList.toggle("is-busy", isBusy);
    els.newConversation.disabled = state.sending;
    els.newWithPrompt.disabled = state.sending;
    for (const view of state.turns.values()) {
      if (view.rerollButton) view.rerollButton.disabled = isBusy;
    }
    if (streaming && focusWasInComposer) els.stop.focus({ preventScroll: true });
    else if (!isBusy && (document.activeElement === els.stop || document.activeElement === document.body)) {
      els.input.focus({ preventScroll: true });
    }
    if (!streaming) state.stopping = false;
  }

  function renderPendingTurn(content) {
    const el = h("li", { class: "turn pending" },
      h("div", { class: "user-row" }, h("div", { class: "user-bubble" }, h("p", { class: "user-text" }, content))),
      h("p", { class: "pending-note" }, h("span", { class: "spinner", "aria-hidden": "true" }), "Sending…"));
    els.turnList.append(el);
    updateEmptyState();
    scrollToBottom();
    return el;
  }

  async function sendMessage() {
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
      const slots = Array.isArray(res.slots) && res.slots.length ? res.slots : (res.paired ? ["a", "b"] : ["a"]);
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

  async function stopStreaming() {
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
    } catch (_) {
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
    const original = view.slots.get("a");
    const fresh = buildTurnView({
      id: view.id,
      content: view.content,
      paired: true,
      trigger: res.trigger || "reroll",
      responses: [
        { slot: "a", content: original ? original.text : "", status: original ? original.status : "streaming",
          finish_reason: original ? original.finishReason : null },
        { slot: "b", content: "", status: "streaming" },
      ],
      feedback: null,
    });
    for (const slot of fresh.slots.values()) markdown.render(slot.body, slot.text);
    view.el.replaceWith(fresh.el);
    state.turns.set(fresh.id, fresh);
    announce("Streaming a second answer…");
    connect(fresh);
    fresh.el.scrollIntoView({ block: "nearest" });
  }

  // ---------------------------------------------------------------- sidebar (narrow screens)

  const narrow = window.matchMedia("(max-width: 719.98px)");

  function openSidebar() {
    els.sidebar.classList.add("open");
    els.sidebarBackdrop.hidden = false;
    els.sidebarToggle.setAttribute("aria-expanded", "true");
    const target = els.sidebar.querySelector("[aria-current]") || els.newConversation;
    target.focus();
  }

  function closeSidebar() {
    if (!els.sidebar.classList.contains("open")) return;
    els.sidebar.classList.remove("open");
    els.sidebarBackdrop.hidden = true;
    els.sidebarToggle.setAttribute("aria-expanded", "false");
  }

  // ---------------------------------------------------------------- wiring

  function autosize() {
    els.input.style.height = "auto";
    els.input.style.height = `${Math.min(els.input.scrollHeight + 2, 240)}px`;
  }

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
    els.sidebarToggle.addEventListener("click", () => {
      if (els.sidebar.classList.contains("open")) closeSidebar();
      else openSidebar();
    });
    els.sidebarBackdrop.addEventListener("click", closeSidebar);
    els.sidebarClose.addEventListener("click", () => {
      closeSidebar();
      els.sidebarToggle.focus();
    });
    narrow.addEventListener("change", () => {
      if (!narrow.matches) closeSidebar();
    });
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
      if (els.sidebar.classList.contains("open")) {
        closeSidebar();
        els.sidebarToggle.focus();
      } else if (!els.stop.hidden) {
        e.preventDefault();
        stopStreaming();
      }
    });
    window.addEventListener("online", () => {
      for (const link of links.values()) {
        if (link.timer) {
          clearTimeout(link.timer);
          link.timer = 0;
          link.resyncNow = true;
          scheduleReconnect(link);
        }
      }
    });
  }

  async function init() {
    markdown.init();
    bind();
    updateComposer();
    await refreshConversations();
    const wanted = hashConversationId();
    let opened = false;
    if (wanted) opened = await openConversation(wanted);
    if (!opened && state.conversations.length) opened = await openConversation(state.conversations[0].id);
    if (!opened) updateEmptyState();
    if (!busy()) els.input.focus();
  }

  // ---------------------------------------------------------------- test hooks

  window.duet = {
    sockets,
    /** The exact text assembled so far for a slot of a turn (null if unknown). */
    rawText(tid, slot) {
      const view = state.turns.get(tid);
      const s = view && view.slots.get(slot);
      return s ? s.text : null;
    },
    /** Status of a slot as the UI holds it. */
    status(tid, slot) {
      const view = state.turns.get(tid);
      const s = view && view.slots.get(slot);
      return s ? s.status : null;
    },
    /** Last seq held for a slot. */
    seq(tid, slot) {
      const view = state.turns.get(tid);
      const s = view && view.slots.get(slot);
      return s ? s.seq : null;
    },
    currentConversationId: () => state.currentId,
    reload: () => (state.currentId ? openConversation(state.currentId) : refreshConversations()),
    ready: null,
  };

  window.duet.ready = init();
})();
