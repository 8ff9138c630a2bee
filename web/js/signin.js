// The sign-in view. Mode "none": a member name is all it takes. Mode "jwt": a token, either
// pasted or, when the server runs the demo issuer, exchanged for a name. The session (name and
// token) lives in sessionStorage: it survives a reload, never reaches a URL, and ends with the tab.

import { $ } from "./dom.js";
import { ApiError, createApi, describe } from "./api.js";
import { memberProblem } from "./names.js";

const KEY = "im.session";

export function restoreSession(info) {
  try {
    const saved = JSON.parse(sessionStorage.getItem(KEY) ?? "null");
    if (!saved || memberProblem(saved.member ?? "") !== null) return null;
    // A session of the other mode (the server was reconfigured) is of no use.
    return (info.mode === "jwt") === Boolean(saved.token) ? saved : null;
  } catch {
    return null;
  }
}

export function saveSession(session) {
  sessionStorage.setItem(KEY, JSON.stringify({ member: session.member, token: session.token }));
}

export function forgetSession() {
  sessionStorage.removeItem(KEY);
}

/** The member a token names (its `sub`), read without checking it: the server checks. */
function subjectOf(token) {
  const payload = token.split(".")[1];
  if (!payload || token.split(".").length !== 3) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const bytes = Uint8Array.from(json, (c) => c.charCodeAt(0));
    return JSON.parse(new TextDecoder().decode(bytes)).sub ?? null;
  } catch {
    return null;
  }
}

export function mountSignin({ api, onSignedIn }) {
  const root = $("#signin");
  const form = $("#signin-form");
  const name = $("#signin-name");
  const token = $("#signin-token");
  const error = $("#signin-error");
  const submit = $("#signin-submit");
  let info = { mode: "none", demo_issuer: false };

  const usesToken = () => info.mode === "jwt" && !info.demo_issuer;

  function fail(text, field) {
    error.textContent = text;
    field?.setAttribute("aria-invalid", "true");
    field?.focus();
  }

  async function signIn() {
    if (usesToken()) {
      const raw = token.value.trim();
      const member = subjectOf(raw);
      if (!member) return fail("This is not a token (three dot-separated parts naming a member in “sub”).", token);
      const problem = memberProblem(member);
      if (problem) return fail(`The token names “${member}”, which is not a valid member: ${problem}`, token);
      // One cheap call tells whether the server takes this token before the page relies on it.
      await createApi({ token: raw }).chatsRecent({ member, limit: 1 });
      return onSignedIn({ member, token: raw });
    }
    const member = name.value;
    const problem = memberProblem(member);
    if (problem) return fail(problem, name);
    if (info.mode === "jwt") return onSignedIn({ member, token: await api.demoToken(member) });
    return onSignedIn({ member, token: null });
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    name.removeAttribute("aria-invalid");
    token.removeAttribute("aria-invalid");
    submit.disabled = true;
    try {
      await signIn();
    } catch (err) {
      const refused = err instanceof ApiError && err.status === 401;
      fail(refused ? "The server did not accept this token." : describe(err), usesToken() ? token : name);
    } finally {
      submit.disabled = false;
    }
  });

  return {
    /** Shows the form for the server's access mode, with an optional reason (e.g. expired). */
    show(accessInfo, reason = "") {
      info = accessInfo;
      $("#signin-name-field").hidden = usesToken();
      $("#signin-token-field").hidden = !usesToken();
      $("#signin-mode").textContent =
        info.mode === "none" ? "This server is open: pick any name and you speak as that member."
        : info.demo_issuer ? "Demo sign-in: the server hands out a one-hour token for the name you pick."
        : "This server needs an access token (a JWT whose “sub” is your member name).";
      error.textContent = reason;
      root.hidden = false;
      (usesToken() ? token : name).focus();
    },
    hide() {
      root.hidden = true;
    },
  };
}
