/* Searching, renaming and deleting conversations from the sidebar's list. */
import { api, enc } from "./api.js";
import { listUi, refreshConversations, renderConversationList } from "./conversation-list.js";
import { openConversation, showNothing } from "./conversations.js";
import { els } from "./dom.js";
import { announce, hideError, showError } from "./notices.js";
import { state } from "./state.js";
import { t } from "./strings.js";

let searchTimer = 0;

function focusIn(selector, cid) {
  const el = els.list.querySelector(`${selector}[data-conversation-id="${CSS.escape(cid)}"]`);
  if (el) el.focus();
  return el;
}

async function rename(cid, title) {
  const clean = title.trim();
  const before = state.conversations.find((c) => c.id === cid);
  listUi.renaming = null;
  if (!clean || !before || clean === before.title) {
    renderConversationList();
    focusIn("a.conversation-link", cid);
    return;
  }
  hideError();
  try {
    const res = await api("PATCH", `/api/conversations/${enc(cid)}`, { title: clean });
    before.title = res.title || clean;
    if (cid === state.currentId) document.title = `${before.title} · Duet`;
  } catch (e) {
    showError(e.message);
  }
  renderConversationList();
  focusIn("a.conversation-link", cid);
}

async function remove(cid) {
  hideError();
  try {
    await api("DELETE", `/api/conversations/${enc(cid)}`);
  } catch (e) {
    showError(e.message);
    return;
  }
  listUi.deleting = null;
  listUi.menu = null;
  state.conversations = state.conversations.filter((c) => c.id !== cid);
  announce(t("conv.deleted"));
  if (cid === state.currentId) {
    const next = state.conversations[0];
    if (!next || !(await openConversation(next.id))) showNothing();
  }
  renderConversationList();
  els.newConversation.focus();
}

function onClick(e) {
  const button = e.target.closest("button[data-conversation-id], .conv-confirm button");
  if (!button) return;
  const cid = button.dataset.conversationId || button.closest("[data-conversation-id]").dataset.conversationId;
  if (button.matches(".conv-menu")) {
    listUi.menu = listUi.menu === cid ? null : cid;
    listUi.deleting = null;
    renderConversationList();
    focusIn(listUi.menu ? ".conv-rename" : ".conv-menu", cid);
  } else if (button.matches(".conv-rename")) {
    listUi.renaming = cid;
    listUi.menu = null;
    renderConversationList();
    const input = focusIn(".conv-rename-input", cid);
    if (input) input.select();
  } else if (button.matches(".conv-delete")) {
    listUi.deleting = cid;
    renderConversationList();
    els.list.querySelector(".conv-delete-no").focus();
  } else if (button.matches(".conv-delete-yes")) {
    remove(cid);
  } else if (button.matches(".conv-delete-no")) {
    listUi.deleting = null;
    renderConversationList();
    focusIn(".conv-menu", cid);
  }
}

/** The list's menus, rename form, delete confirmation and the search box. */
export function bindConversationActions() {
  els.list.addEventListener("click", onClick);
  els.list.addEventListener("submit", (e) => {
    const form = e.target.closest(".conv-rename-form");
    if (!form) return;
    e.preventDefault();
    rename(form.dataset.conversationId, form.querySelector("input").value);
  });
  els.list.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !listUi.renaming && !listUi.deleting && !listUi.menu) return;
    e.preventDefault(); // the page's Escape would close the drawer
    const cid = listUi.renaming || listUi.deleting || listUi.menu;
    Object.assign(listUi, { renaming: null, deleting: null, menu: null });
    renderConversationList();
    focusIn(".conv-menu", cid);
  });
  els.search.addEventListener("input", () => {
    listUi.query = els.search.value;
    clearTimeout(searchTimer);
    searchTimer = setTimeout(refreshConversations, 200);
  });
}
