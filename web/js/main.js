// Wiring: ask the server how to sign in, then run the signed-in page (inbox, chat, outbox) and
// route between its views by the URL's hash: "#/" is the inbox, "#/chat/<room>" a chat.
// Phones show one view at a time; wide screens both side by side (app.css).

import { $ } from "./dom.js";
import { createApi, persist } from "./api.js";
import { createStatus } from "./status.js";
import { forgetSession, mountSignin, restoreSession, saveSession } from "./signin.js";
import { createMarkers } from "./markers.js";
import { createOutbox } from "./outbox.js";
import { mountInbox } from "./inbox.js";
import { mountChat } from "./chat.js";

const status = createStatus($("#status"));
const anonymous = createApi();
const app = $("#app");
let access = { mode: "none", demo_issuer: false };
let running = null; // the signed-in page: {controller, inbox, chat}

const signin = mountSignin({ api: anonymous, onSignedIn: start });

function roomInHash() {
  const match = /^#\/chat\/(.+)$/.exec(location.hash);
  try {
    return match ? decodeURIComponent(match[1]) : null;
  } catch {
    return null;
  }
}

function route() {
  if (!running) return;
  const room = roomInHash();
  const previous = app.dataset.view;
  app.dataset.view = room ? "chat" : "inbox";
  running.inbox.setOpen(room);
  if (room) {
    running.chat.open(room);
    running.chat.focusComposer();
  } else {
    running.chat.close();
    if (previous === "chat") running.inbox.focus(running.room);
  }
  running.room = room;
}

function start(session) {
  saveSession(session);
  signin.hide();
  const controller = new AbortController();
  const signal = controller.signal;
  const auth = { token: session.token };
  if (access.mode === "jwt" && access.demo_issuer) {
    // The demo issuer's tokens live an hour: after a 401, get a fresh one the same way.
    auth.renew = async () => {
      try {
        auth.token = await anonymous.demoToken(session.member);
        saveSession({ member: session.member, token: auth.token });
        return true;
      } catch {
        return false;
      }
    };
  }
  const api = createApi(auth);
  const me = session.member;
  const onSignedOut = () => stop("The server no longer accepts your sign-in (401). Please sign in again.");
  const markers = createMarkers({ api, me, status, signal, onSignedOut });
  const outbox = createOutbox({ api, me, status, signal, onSignedOut });
  const shared = { api, me, markers, status, signal, onSignedOut };
  const chat = mountChat({ ...shared, outbox });
  running = {
    controller,
    inbox: mountInbox({ ...shared, onForbidden: chat.forbid }),
    chat,
    room: null,
  };
  $("#me-name").textContent = me;
  $("#me").hidden = false;
  app.hidden = false;
  route();
}

/** Ends the session. The views are bound to one member, so a fresh page is the simplest way to
 *  drop them all; `reason` (why the person must sign in again) is shown by that page. */
function stop(reason = "") {
  running?.controller.abort();
  running = null;
  forgetSession();
  if (reason) sessionStorage.setItem("im.signin-reason", reason);
  history.replaceState(null, "", "#/");
  location.reload();
}

$("#sign-out").addEventListener("click", () => stop());
window.addEventListener("hashchange", route);

async function boot() {
  access = await persist(() => anonymous.access(), { status, source: "access" });
  const session = restoreSession(access);
  const reason = sessionStorage.getItem("im.signin-reason") ?? "";
  sessionStorage.removeItem("im.signin-reason");
  if (session) start(session);
  else signin.show(access, reason);
}

boot();
