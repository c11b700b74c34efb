/* The sidebar's list of this client's conversations, and the #c=<id> address of the open one. */
import { api, enc } from "./api.js";
import { els, h } from "./dom.js";
import { showError } from "./notices.js";
import { state } from "./state.js";

const dateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });

function formatDate(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : dateFormat.format(d);
}

/** Fetch the conversation list again and show it (an error goes to the banner). */
export async function refreshConversations() {
  try {
    const data = await api("GET", "/api/conversations");
    state.conversations = Array.isArray(data.conversations) ? data.conversations : [];
  } catch (e) {
    showError(e.message);
  }
  renderConversationList();
}

/** Show the list as held, marking the open conversation. */
export function renderConversationList() {
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
