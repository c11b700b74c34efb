/* The sidebar's list of this rater's conversations (searchable, each with rename and delete),
 * and the #c=<id> address of the open one. The clicks are handled in conversation-actions.js.
 */
import { api, enc } from "./api.js";
import { els, h } from "./dom.js";
import { showError } from "./notices.js";
import { state } from "./state.js";
import { t } from "./strings.js";

/** The title the server gives a conversation until its first message names it (data, not words). */
export const DEFAULT_TITLE = "New conversation";

/** What the list shows besides the titles: an open menu, a rename or delete in progress, the search. */
export const listUi = { menu: null, renaming: null, deleting: null, query: "" };

const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dateFormat.format(d);
}

/** A conversation's title as shown. */
export const titleOf = (c) => (!c.title || c.title === DEFAULT_TITLE ? t("conv.untitled") : c.title);

/** Fetch the conversation list again (matching the search, if any) and show it. */
export async function refreshConversations() {
  const q = listUi.query.trim();
  try {
    const data = await api("GET", q ? `/api/conversations?q=${enc(q)}` : "/api/conversations");
    if (q !== listUi.query.trim()) return; // a newer search is on its way
    state.conversations = Array.isArray(data.conversations) ? data.conversations : [];
  } catch (e) {
    showError(e.message);
  }
  renderConversationList();
}

function renameForm(c) {
  const id = `rename-${c.id}`;
  const input = h("input", { id, class: "conv-rename-input", type: "text", value: titleOf(c), maxlength: 200,
    "data-conversation-id": c.id });
  return h("form", { class: "conv-rename-form", "data-conversation-id": c.id },
    h("label", { class: "visually-hidden", for: id }, t("conv.renameLabel", { title: titleOf(c) })), input,
    h("button", { type: "submit", class: "button conv-rename-save" }, t("conv.rename")));
}

function deleteConfirm(c) {
  return h("div", { class: "conv-confirm", "data-conversation-id": c.id },
    h("p", null, t("conv.deleteConfirm", { title: titleOf(c) })),
    h("div", { class: "form-buttons" },
      h("button", { type: "button", class: "button danger conv-delete-yes" }, t("conv.deleteYes")),
      h("button", { type: "button", class: "button conv-delete-no" }, t("conv.deleteNo"))));
}

function item(c) {
  const current = c.id === state.currentId;
  if (listUi.renaming === c.id) return h("li", { class: "conversation-item renaming" }, renameForm(c));
  const link = h("a", {
    class: "conversation-link",
    href: `#c=${enc(c.id)}`,
    "aria-current": current ? "page" : null,
    "data-conversation-id": c.id,
  },
  h("span", { class: "conversation-title" }, titleOf(c)),
  c.created_at ? h("time", { class: "conversation-date", datetime: c.created_at }, formatDate(c.created_at)) : null);
  const menuId = `conv-menu-${c.id}`;
  const open = listUi.menu === c.id;
  const toggle = h("button", { type: "button", class: "icon-button conv-menu", "data-conversation-id": c.id,
    "aria-expanded": open ? "true" : "false", "aria-controls": menuId,
    "aria-label": t("conv.actions", { title: titleOf(c) }) }, h("span", { "aria-hidden": "true" }, "⋯"));
  const menu = h("div", { class: "conv-actions", id: menuId, hidden: !open },
    h("button", { type: "button", class: "button subtle conv-rename", "data-conversation-id": c.id }, t("conv.rename")),
    h("button", { type: "button", class: "button subtle conv-delete", "data-conversation-id": c.id }, t("conv.delete")));
  return h("li", { class: "conversation-item" }, h("div", { class: "conversation-row" }, link, toggle), menu,
    listUi.deleting === c.id ? deleteConfirm(c) : null);
}

/** Show the list as held, marking the open conversation. */
export function renderConversationList() {
  const items = state.conversations.map(item);
  els.list.replaceChildren(...items);
  els.listEmpty.hidden = items.length > 0;
  els.listEmpty.textContent = t(listUi.query.trim() ? "conv.noMatch" : "conv.none");
}

/** The conversation id in the address (#c=<id>), or null. */
export function hashConversationId() {
  const m = /^#c=(.+)$/.exec(location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch {
    return null;
  }
}

/** Put a conversation's id in the address without adding a history entry. */
export function setHash(cid) {
  const want = `#c=${enc(cid)}`;
  if (location.hash !== want) history.replaceState(null, "", want);
}
