/* The page's fixed elements, a helper to build new ones, and the turn list's scroll and emptiness. */

const byId = (id) => document.getElementById(id);

let uidCounter = 0;
/** A fresh element id with the given prefix. */
export const uid = (prefix) => `${prefix}-${++uidCounter}`;

/** Create an element; attrs with true become empty attributes, null/false are skipped. */
export function h(tag, attrs, ...children) {
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

/** The elements of app/templates/index.html that the page works with. */
export const els = {
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

/** Whether the turns are scrolled (almost) to the bottom, so new text should keep them there. */
export function isNearBottom() {
  const s = els.turnsScroller;
  return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
}

/** Scroll the turns to the latest one. */
export function scrollToBottom() {
  els.turnsScroller.scrollTop = els.turnsScroller.scrollHeight;
}

/** Hide the "Chat, and sometimes compare" welcome once the list has a turn. */
export function updateEmptyState() {
  els.emptyState.hidden = els.turnList.childElementCount > 0;
}
