// The chat view: the newest page first, older pages as the person scrolls up (keeping what
// they look at in place), new messages from a loop of waiting forward pulls (no timer polls),
// and the composer. What is shown, and in which order, is timeline.js's job; what the person
// has brought into view goes to markers.js, which marks it read.

import { $, avatar, el } from "./dom.js";
import { ApiError, describe, persist } from "./api.js";
import { membersOf, otherMember } from "./names.js";
import { createTimeline } from "./timeline.js";

/** Why `text` cannot be sent, or null (the SPEC's rules, so the person hears it at once). */
function textProblem(text) {
  const length = [...text].length;
  if (text.trim() === "") return "A message needs more than whitespace.";
  if (length > 4096) return `A message is at most 4096 characters; this one has ${length}.`;
  if (text.includes("\0")) return "A message cannot contain the NUL character.";
  return null;
}

// What an empty timeline says, by the state of its first page: never "no messages" before the
// server has said so.
const PLACEHOLDER = {
  loading: "Loading…",
  unreachable: "Can't reach the server",
  ready: "No messages yet. Say hello!",
  failed: "",
};

export function mountChat({ api, me, markers, outbox, status, signal, onSignedOut }) {
  const title = $("#chat-title");
  const scroller = $("#timeline");
  const list = $("#messages");
  const older = $("#older");
  const placeholder = $("#chat-placeholder");
  const none = $("#chat-none");
  const problem = $("#chat-error");
  const announcer = $("#announcer");
  const form = $("#composer");
  const textarea = $("#composer-text");
  const send = $("#send");
  const composerError = $("#composer-error");

  // The open chat: {room, self, controller, signal, options, timeline, state, hasOlder,
  // olderCursor, loadingOlder}. Every answer checks that its chat is still the open one.
  let view = null;
  // Why this member may not send at all (its inbox was refused), or null.
  let forbidden = null;

  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

  function showPlaceholder(v) {
    const text = v.timeline.empty ? PLACEHOLDER[v.state] : "";
    placeholder.textContent = text;
    placeholder.hidden = text === "";
  }

  function setState(v, state) {
    v.state = state;
    if (view === v) showPlaceholder(v);
  }

  function insert(v, messages, live = false) {
    const added = v.timeline.insert(messages, live);
    messages.forEach(outbox.settle); // after placing them: a pending copy goes
    v.timeline.showSeen(v.self ? 0 : markers.peerReadUpTo(v.room));
    showPlaceholder(v);
    return added;
  }

  /** Tells the markers how far the person can see the other member's messages. */
  function looked(v) {
    markers.show(v.room, v.timeline.newestTheirsAbove(scroller.scrollTop + scroller.clientHeight));
  }

  /** The composer, usable or not (`reason` says why not). */
  function lock(reason) {
    textarea.disabled = reason !== null;
    send.disabled = reason !== null;
    textarea.placeholder = reason === null ? "Write a message…" : "You cannot send here";
    composerError.textContent = reason ?? "";
  }

  function updateOlder(v) {
    if (view !== v) return;
    older.hidden = !v.hasOlder;
    older.textContent = v.loadingOlder ? "Loading older messages…" : "Load older messages";
    scroller.setAttribute("aria-busy", v.loadingOlder ? "true" : "false");
  }

  /** The page before the oldest shown; one at a time. */
  function loadOlder(v) {
    if (!v.hasOlder || v.loadingOlder) return v.loadingOlder;
    v.loadingOlder = fetchOlder(v).finally(() => {
      v.loadingOlder = null;
      updateOlder(v);
    });
    updateOlder(v);
    return v.loadingOlder;
  }

  async function fetchOlder(v) {
    const page = await persist(() => api.pullOlder({ chat: v.room, cursor: v.olderCursor }, v.signal), v.options);
    if (view !== v) return;
    // What the person looks at stays put: the distance from the bottom does not change.
    const fromBottom = scroller.scrollHeight - scroller.scrollTop;
    insert(v, page.messages);
    scroller.scrollTop = scroller.scrollHeight - fromBottom;
    v.hasOlder = page.has_more;
    v.olderCursor = page.next_cursor;
  }

  /** Older pages until the timeline can scroll (there is then a top to scroll to). */
  async function fill(v) {
    while (view === v && v.hasOlder && scroller.scrollHeight <= scroller.clientHeight + 40) await loadOlder(v);
  }

  async function run(v) {
    const first = await persist(() => api.pullOlder({ chat: v.room }, v.signal), {
      ...v.options,
      onRetry: (err) => setState(v, err.unreachable ? "unreachable" : "loading"),
    });
    if (view !== v) return;
    v.state = "ready";
    insert(v, first.messages);
    v.hasOlder = first.has_more;
    v.olderCursor = first.next_cursor;
    updateOlder(v);
    // Open at the first unseen message, else at the newest. (Not scrollIntoView: that would
    // scroll the page around the timeline too.)
    const divider = v.timeline.divider;
    if (divider) scroller.scrollTop += divider.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
    else toBottom();
    looked(v);
    fill(v).catch((err) => stopped(v, err));
    // Forward from the newest of that page (not of the timeline: our own send's answer may
    // already have put a later message there, and others' messages before it must still come).
    let cursor = first.messages.length > 0 ? first.messages[0].send_time + 1 : 0;
    for (;;) {
      const page = await persist(() => api.pullNewer({ chat: v.room, cursor }, v.signal), v.options);
      if (view !== v) return;
      const stick = nearBottom();
      const added = insert(v, page.messages, true);
      if (added.length > 0 && stick) toBottom();
      for (const m of added) if (m.sender !== me) announcer.textContent = `${m.sender}: ${m.text}`;
      looked(v);
      cursor = page.next_cursor; // with has_more, the next pull answers at once
    }
  }

  function stopped(v, err) {
    if (v.signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) return onSignedOut(err);
    const loaded = v.state === "ready";
    setState(v, "failed");
    problem.textContent = `${loaded ? "This chat stopped updating" : "This chat could not be loaded"}: ${describe(err)}`;
    if (err instanceof ApiError && err.status === 403) lock(describe(err));
  }

  function close() {
    view?.controller.abort();
    view = null;
    markers.show(null);
    list.replaceChildren();
    problem.textContent = "";
    title.replaceChildren();
    older.hidden = true;
    placeholder.hidden = true;
    form.hidden = true;
    none.hidden = false;
    lock(forbidden);
  }

  function open(room) {
    if (view?.room === room) return;
    close();
    none.hidden = true;
    if (!membersOf(room)?.includes(me)) {
      title.textContent = "Not your chat";
      problem.textContent = `You can only open chats you are a member of (“${room}” is not).`;
      return;
    }
    const controller = new AbortController();
    const chatSignal = AbortSignal.any([signal, controller.signal]);
    const other = otherMember(room, me);
    const v = {
      room, self: other === me, controller, signal: chatSignal,
      options: { signal: chatSignal, status, source: "chat" },
      timeline: createTimeline({
        list, room, me, seenBefore: markers.readUpTo(room), attentive: markers.attentive, onDiscard: outbox.discard,
      }),
      state: "loading", hasOlder: false, olderCursor: 0, loadingOlder: null,
    };
    view = v;
    title.append(avatar(other), el("span", { class: "chat-name", "data-testid": "chat-name" }, v.self ? `${other} (you)` : other));
    form.hidden = false;
    v.timeline.showPending(outbox.pending(room));
    showPlaceholder(v);
    markers.show(room);
    run(v).catch((err) => stopped(v, err));
  }

  function more() {
    const v = view;
    loadOlder(v)?.catch((err) => stopped(v, err));
  }
  // Whether the person reads the newest messages: a resize (a phone's keyboard opening, say)
  // keeps them in view.
  let stuck = true;
  scroller.addEventListener("scroll", () => {
    stuck = nearBottom();
    if (!view) return;
    looked(view);
    if (scroller.scrollTop < 200) more();
  });
  new ResizeObserver(() => {
    if (!view) return;
    if (stuck) toBottom();
    looked(view);
  }).observe(scroller);
  older.addEventListener("click", () => view && more());

  markers.onChange((room) => {
    if (view?.room === room && !view.self) view.timeline.showSeen(markers.peerReadUpTo(room));
  });

  outbox.onChange((room, stored) => {
    if (!view || view.room !== room) return;
    if (stored) insert(view, [stored]);
    view.timeline.showPending(outbox.pending(room));
    showPlaceholder(view);
    toBottom(); // the person just sent: show it
  });

  textarea.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; an IME's Enter picks a candidate.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.altKey || event.ctrlKey || event.metaKey) return;
    event.preventDefault();
    form.requestSubmit();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!view || textarea.disabled || textarea.value === "") return;
    const why = textProblem(textarea.value);
    composerError.textContent = why ?? "";
    if (why) return;
    outbox.add(view.room, textarea.value);
    textarea.value = "";
  });

  close();
  return {
    open,
    close,
    focusComposer() {
      if (!form.hidden && !textarea.disabled) textarea.focus();
    },
    /** This member may not send at all (`reason`, e.g. its inbox answered 403). */
    forbid(reason) {
      forbidden = reason;
      lock(reason);
    },
  };
}
