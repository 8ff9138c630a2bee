// The newest send_time a member has seen in each chat, in localStorage under
// "im.seen:<member>:<room>", so that unseen messages stay marked across reloads and tabs.

export function createSeen(member) {
  const listeners = new Set();
  const key = (room) => `im.seen:${member}:${room}`;
  const notify = (room) => listeners.forEach((fn) => fn(room));

  // Another tab of the same member saw something.
  window.addEventListener("storage", (event) => {
    const prefix = `im.seen:${member}:`;
    if (event.key?.startsWith(prefix)) notify(event.key.slice(prefix.length));
  });

  return {
    get(room) {
      return Number(localStorage.getItem(key(room)) ?? 0);
    },
    /** Marks everything up to `sendTime` in `room` as seen (never moves back). */
    mark(room, sendTime) {
      if (sendTime <= this.get(room)) return;
      localStorage.setItem(key(room), String(sendTime));
      notify(room);
    },
    onChange(fn) {
      listeners.add(fn);
    },
  };
}
