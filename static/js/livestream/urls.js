// The live API's routes the page calls (apps/live/api/urls.py, chat_urls.py).
const base = (id) => `/api/v1/live/${encodeURIComponent(id)}`;

export const urls = {
  detail: base,
  end: (id) => `${base(id)}/end`,
  chat: (id) => `${base(id)}/chat`,
  message: (id, messageId) => `${base(id)}/chat/${encodeURIComponent(messageId)}`,
  pin: (id) => `${base(id)}/pin`,
  settings: (id) => `${base(id)}/chat/settings`,
  mute: (id) => `${base(id)}/mutes`,
  ban: (id) => `${base(id)}/bans`,
  likes: (id) => `${base(id)}/likes`,
  gifts: (id) => `${base(id)}/gifts`,
  report: (id) => `${base(id)}/report`,
  moderators: "/api/v1/live/chat/moderators",
  moderator: (userId) => `/api/v1/live/chat/moderators/${encodeURIComponent(userId)}`,
};
