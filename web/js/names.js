// The SPEC's words, as the page needs them: what a member name may be, and the room form of
// a chat (its two members sorted byte-wise) that the server stores and answers with.

const encoder = new TextEncoder();

/** Why `name` cannot be a member, or null when it can. */
export function memberProblem(name) {
  const bytes = encoder.encode(name).length;
  if (bytes === 0) return "Type a name.";
  if (bytes > 64) return `A name is at most 64 bytes; this one has ${bytes}.`;
  if (name.includes(":")) return "A name cannot contain “:”.";
  if (/\s/u.test(name)) return "A name cannot contain spaces or other whitespace.";
  if (/\p{Cc}/u.test(name)) return "A name cannot contain control characters.";
  return null;
}

/** Byte-wise comparison of the UTF-8 forms, as the server sorts (JS's `<` compares UTF-16). */
function compareBytes(a, b) {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i += 1) {
    if (x[i] !== y[i]) return x[i] - y[i];
  }
  return x.length - y.length;
}

/** The room of a chat between `a` and `b`: "al:bob" for ("bob", "al"). */
export function roomOf(a, b) {
  return compareBytes(a, b) <= 0 ? `${a}:${b}` : `${b}:${a}`;
}

/** The two members of a room, or null when it is not one. */
export function membersOf(room) {
  const parts = room.split(":");
  return parts.length === 2 && parts.every((p) => memberProblem(p) === null) ? parts : null;
}

/** The member `me` talks to in `room` (itself in a self-chat). */
export function otherMember(room, me) {
  const [a, b] = membersOf(room) ?? [room, room];
  return a === me ? b : a;
}
