/* The conversations sidebar on narrow screens: a drawer opened by the header's button. */
import { els } from "./dom.js";

const narrow = window.matchMedia("(max-width: 719.98px)");

/** Whether the drawer is open. */
export const sidebarOpen = () => els.sidebar.classList.contains("open");

function openSidebar() {
  els.sidebar.classList.add("open");
  els.sidebarBackdrop.hidden = false;
  els.sidebarToggle.setAttribute("aria-expanded", "true");
  const target = els.sidebar.querySelector("[aria-current]") || els.newConversation;
  target.focus();
}

/** Close the drawer (nothing happens if it is closed). */
export function closeSidebar() {
  if (!sidebarOpen()) return;
  els.sidebar.classList.remove("open");
  els.sidebarBackdrop.hidden = true;
  els.sidebarToggle.setAttribute("aria-expanded", "false");
}

/** The toggle, the close button and the backdrop; a widening window closes the drawer. */
export function bindSidebar() {
  els.sidebarToggle.addEventListener("click", () => {
    if (sidebarOpen()) closeSidebar();
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
}
