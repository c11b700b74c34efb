/* Who is signed in (rendered into the header by the server) and the sign-out button. */
import { api } from "./api.js";
import { els } from "./dom.js";
import { showError } from "./notices.js";

/** Sign out (POST /api/signout), then reload: a named mode shows its sign-in page. */
export function bindAccount() {
  if (!els.signout) return;
  els.signout.addEventListener("click", async () => {
    els.signout.disabled = true;
    try {
      await api("POST", "/api/signout");
      location.reload();
    } catch (e) {
      els.signout.disabled = false;
      showError(e.message);
    }
  });
}
