/* Opening, showing and starting conversations. */
import { api, enc } from "./api.js";
import { updateComposer } from "./composer.js";
import { renderConversationList, setHash } from "./conversation-list.js";
import { els, scrollToBottom, updateEmptyState } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { hideError, showError } from "./notices.js";
import { closeAllLinks, connect } from "./relay.js";
import { closeSidebar } from "./sidebar.js";
import { state, turnStreaming } from "./state.js";
import { buildTurnView } from "./turn-view.js";

/** Load and show a conversation; returns false when it could not be loaded. */
export async function openConversation(cid) {
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
    for (const slot of view.slots.values()) renderMarkdown(slot.body, slot.text);
    if (turnStreaming(view)) connect(view);
  }
  updateEmptyState();
  renderConversationList();
  updateComposer();
  scrollToBottom();
}

/** Create a conversation (with a system prompt if given), list it first and show it. */
export async function createConversation(systemPrompt) {
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

/** The "New conversation" buttons: with the sidebar's system prompt or without. */
export async function startNewConversation(withPrompt) {
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
