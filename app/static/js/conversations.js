/* Opening, showing and starting conversations. */
import { api, enc } from "./api.js";
import { leaveCampaignView } from "./campaign-view.js";
import { updateComposer } from "./composer.js";
import { DEFAULT_TITLE, renderConversationList, setHash } from "./conversation-list.js";
import { els, scrollToBottom, updateEmptyState } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { announce, hideError, showError } from "./notices.js";
import { shownText } from "./pane-view.js";
import { closeAllLinks, connect } from "./relay.js";
import { closeSidebar } from "./sidebar.js";
import { state, turnStreaming } from "./state.js";
import { t } from "./strings.js";
import { buildTurnView, foldOlderVotes } from "./turn-view.js";

/** Load and show a conversation; returns false when it could not be loaded. */
export async function openConversation(cid) {
  const token = ++state.loadToken;
  let conv;
  try {
    conv = await api("GET", `/api/conversations/${enc(cid)}`);
  } catch (e) {
    if (token === state.loadToken) showError(e.status === 404 ? t("conv.notFound") : e.message);
    return false;
  }
  if (token !== state.loadToken) return false;
  showConversation(conv);
  return true;
}

function showConversation(conv) {
  closeAllLinks();
  leaveCampaignView();
  state.currentId = conv.id;
  state.conversation = conv;
  state.turns.clear();
  setHash(conv.id);
  document.title = conv.title && conv.title !== DEFAULT_TITLE ? `${conv.title} · Duet` : "Duet";
  announce(""); // what the status line said was about the conversation left behind

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
  foldOlderVotes();
  for (const view of state.turns.values()) {
    for (const slot of view.slots.values()) renderMarkdown(slot.body, shownText(slot));
    if (turnStreaming(view)) connect(view);
  }
  updateEmptyState();
  renderConversationList();
  updateComposer();
  scrollToBottom();
}

/** Show no conversation (the last one was deleted): the welcome and an empty message box. */
export function showNothing() {
  closeAllLinks();
  leaveCampaignView();
  state.loadToken++;
  Object.assign(state, { currentId: null, conversation: null });
  state.turns.clear();
  els.turnList.replaceChildren();
  els.convSystemPrompt.hidden = true;
  history.replaceState(null, "", location.pathname + location.search);
  document.title = "Duet";
  updateEmptyState();
  updateComposer();
}

/** Create a conversation (with a system prompt if given), list it first and show it. */
export async function createConversation(systemPrompt) {
  const body = systemPrompt ? { system_prompt: systemPrompt } : {};
  const conv = await api("POST", "/api/conversations", body);
  if (!Array.isArray(conv.turns)) conv.turns = [];
  state.conversations = [
    { id: conv.id, title: conv.title || DEFAULT_TITLE, created_at: conv.created_at },
    ...state.conversations.filter((c) => c.id !== conv.id),
  ];
  state.loadToken++; // a pending openConversation must not replace this one
  showConversation(conv);
  return conv;
}

const isEmpty = (conv) => conv && !conv.system_prompt && !(conv.turns || []).length;

/** An empty conversation without a system prompt to reuse instead of making another. */
async function emptyConversation() {
  if (state.conversation && state.turns.size === 0 && !state.conversation.system_prompt) return state.conversation;
  const candidate = state.conversations.find((c) => c.title === DEFAULT_TITLE && c.id !== state.currentId);
  if (!candidate) return null;
  try {
    const conv = await api("GET", `/api/conversations/${enc(candidate.id)}`);
    return isEmpty(conv) ? conv : null;
  } catch {
    return null;
  }
}

/** The "New conversation" buttons: with the sidebar's system prompt or without. An empty
 * conversation is reused, so "New conversation" entries do not pile up. */
export async function startNewConversation(withPrompt) {
  hideError();
  if (state.sending) return;
  const prompt = withPrompt ? els.systemPromptInput.value.trim() : "";
  try {
    const reuse = prompt ? null : await emptyConversation();
    if (reuse && reuse.id !== state.currentId) {
      state.loadToken++;
      showConversation(reuse);
    } else if (!reuse) {
      await createConversation(prompt);
    }
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
