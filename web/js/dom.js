// Tiny DOM helpers. Text always goes in as a text node: nothing here parses HTML.

/** el("li", {class: "msg", "data-send-time": 1}, "text", child): an element with attributes
 *  and children; strings become text nodes, null/false children are skipped. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

/** A round avatar with the name's first letter, in one of eight colours (app.css), the same
 *  colour for a name every time. */
export function avatar(name) {
  let hash = 0;
  for (const c of name) hash = (hash * 31 + c.codePointAt(0)) >>> 0;
  return el("span", { class: `avatar c${hash % 8}`, "aria-hidden": "true" }, [...name][0].toUpperCase());
}

export const $ = (selector, root = document) => root.querySelector(selector);

/** A send_time (microseconds since the epoch) as a list shows it: the time today, else the day. */
export function formatTime(sendTime, now = new Date()) {
  const date = new Date(sendTime / 1000);
  return date.toDateString() === now.toDateString()
    ? date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
    : date.toLocaleDateString([], { day: "numeric", month: "short" });
}

/** A send_time as a message shows it: the time, with the day unless it is today. */
export function formatStamp(sendTime, now = new Date()) {
  const date = new Date(sendTime / 1000);
  const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  return date.toDateString() === now.toDateString() ? time : `${formatTime(sendTime, now)}, ${time}`;
}

export function isoTime(sendTime) {
  return new Date(sendTime / 1000).toISOString();
}
