// The chat view: the newest page first, older pages as the person scrolls up (keeping what
// they look at in place), new messages from a loop of waiting forward pulls (no timer polls),
// and the composer. What is shown, and in which order, is timeline.js's job.

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

export function mountChat({ api, me, seen, outbox, status, signal, onSignedOut }) {
  const title = $("#chat-title");
  const scroller = $("#timeline");
  const list = $("#messages");
  const older = $("#older");
  const empty = $("#chat-empty");
  const none = $("#chat-none");
  const problem = $("#chat-error");
  const announcer = $("#announcer");
  const form = $("#composer");
  const textarea = $("#composer-text");
  const composerError = $("#composer-error");

  // The open chat: {room, controller, signal, options, timeline, hasOlder, olderCursor,
  // loadingOlder}. Every answer checks that its chat is still the open one.
  let view = null;

  const nearBottom = () => scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 80;
  const toBottom = () => { scroller.scrollTop = scroller.scrollHeight; };

  function insert(v, messages, live = false) {
    const added = v.timeline.insert(messages, live);
    messages.forEach(outbox.settle); // after placing them: a pending copy goes
    empty.hidden = !v.timeline.empty;
    return added;
  }

  function markSeen(v) {
    if (!document.hidden && v.timeline.newest > 0) seen.mark(v.room, v.timeline.newest);
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
    const first = await persist(() => api.pullOlder({ chat: v.room }, v.signal), v.options);
    if (view !== v) return;
    insert(v, first.messages);
    v.hasOlder = first.has_more;
    v.olderCursor = first.next_cursor;
    updateOlder(v);
    // Open at the first unseen message, else at the newest. (Not scrollIntoView: that would
    // scroll the page around the timeline too.)
    const divider = v.timeline.divider;
    if (divider) scroller.scrollTop += divider.getBoundingClientRect().top - scroller.getBoundingClientRect().top - 8;
    else toBottom();
    markSeen(v);
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
      markSeen(v);
      cursor = page.next_cursor; // with has_more, the next pull answers at once
    }
  }

  function stopped(v, err) {
    if (v.signal.aborted) return;
    if (err instanceof ApiError && err.status === 401) return onSignedOut(err);
    problem.textContent = `This chat stopped updating: ${describe(err)}`;
  }

  function close() {
    view?.controller.abort();
    view = null;
    list.replaceChildren();
    problem.textContent = "";
    composerError.textContent = "";
    title.replaceChildren();
    older.hidden = true;
    empty.hidden = true;
    form.hidden = true;
    none.hidden = false;
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
    const v = {
      room, controller, signal: chatSignal,
      options: { signal: chatSignal, status, source: "chat" },
      timeline: createTimeline({ list, room, me, seenBefore: seen.get(room), onDiscard: outbox.discard }),
      hasOlder: false, olderCursor: 0, loadingOlder: null,
    };
    view = v;
    const other = otherMember(room, me);
    title.append(avatar(other), el("span", { "data-testid": "chat-name" }, other === me ? `${other} (you)` : other));
    form.hidden = false;
    v.timeline.showPending(outbox.pending(room));
    empty.hidden = !v.timeline.empty;
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
    if (view && scroller.scrollTop < 200) more();
  });
  new ResizeObserver(() => view && stuck && toBottom()).observe(scroller);
  older.addEventListener("click", () => view && more());
  document.addEventListener("visibilitychange", () => view && markSeen(view));

  outbox.onChange((room, stored) => {
    if (!view || view.room !== room) return;
    if (stored) insert(view, [stored]);
    view.timeline.showPending(outbox.pending(room));
    empty.hidden = !view.timeline.empty;
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
    if (!view || textarea.value === "") return;
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
      if (!form.hidden) textarea.focus();
    },
  };
}
