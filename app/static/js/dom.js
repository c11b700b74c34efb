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

const SVG = "http://www.w3.org/2000/svg";
// 24 x 24 outlines (after the Lucide set's shapes), drawn with the text colour.
const ICONS = {
  up: "M7 10v12M15 5.9 14 10h5.8a2 2 0 0 1 2 2.3l-1.4 8a2 2 0 0 1-2 1.7H7V10l4-8a3 3 0 0 1 4 3.9z",
  down: "M17 14V2M9 18.1 10 14H4.2a2 2 0 0 1-2-2.3l1.4-8A2 2 0 0 1 5.6 2H17v12l-4 8a3 3 0 0 1-4-3.9z",
  copy: "M8 8h12v12H8zM4 16V4h12",
  edit: "M12 20h9M16.5 3.5a2.1 2.1 0 0 1 3 3L7 19l-4 1 1-4z",
  retry: "M3 12a9 9 0 1 0 3-6.7L3 8M3 3v5h5",
};

/** A decorative icon (hidden from assistive technology: its button has a text label). */
export function icon(name) {
  const svg = document.createElementNS(SVG, "svg");
  for (const [k, v] of Object.entries({ viewBox: "0 0 24 24", width: "16", height: "16", fill: "none",
    stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round",
    "aria-hidden": "true", focusable: "false", class: "icon" })) svg.setAttribute(k, v);
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", ICONS[name]);
  svg.append(path);
  return svg;
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
  search: byId("conversation-search"),
  dataNotice: byId("data-notice"),
  dataNoticeDismiss: byId("data-notice-dismiss"),
  signout: byId("signout"),
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
