// The REST API the inbox is built on (the mobile clients' API, /api/v1/conversations/...):
// every path in one place.
const base = "/api/v1/conversations";
const id = (value) => encodeURIComponent(String(value));

export const urls = {
  list: (folder) => `${base}?folder=${encodeURIComponent(folder)}`,
  create: () => base,
  detail: (c) => `${base}/${id(c)}`,
  messages: (c) => `${base}/${id(c)}/messages`,
  message: (c, m) => `${base}/${id(c)}/messages/${id(m)}`,
  hide: (c, m) => `${base}/${id(c)}/messages/${id(m)}/hide`,
  reaction: (c, m) => `${base}/${id(c)}/messages/${id(m)}/reaction`,
  read: (c) => `${base}/${id(c)}/read`,
  accept: (c) => `${base}/${id(c)}/accept`,
  decline: (c) => `${base}/${id(c)}/decline`,
  report: (c) => `${base}/${id(c)}/report`,
  own: (c, flag) => `${base}/${id(c)}/${flag}`, // mute | pin | archive: POST sets, DELETE clears
  unread: () => "/api/v1/messaging/unread",
  page: (c) => `/messages/${id(c)}`,
};

// A fresh client-generated id for one message: sent again on its retries, so a retry
// never sends it twice (the server returns the first).
export function clientId() {
  if (globalThis.crypto && crypto.randomUUID) return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)),
    (b) => b.toString(16).padStart(2, "0")).join("");
}
