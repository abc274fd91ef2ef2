// The inbox (issue 15, /messages and /messages/<id>): the conversation list, one thread,
// the Messages badge, all kept live over one websocket (ws/messages/).
import { ConversationList } from "./list.js";
import { MessagesSocket } from "./socket.js";
import { Thread } from "./thread.js";
import { refreshUnread, showUnread } from "./badge.js";

const root = document.querySelector("[data-dm]");

if (root) {
  const me = root.dataset.me;
  const current = root.dataset.conversation || "";
  const list = new ConversationList(root.querySelector("[data-dm-list-pane]"), { me, folder: root.dataset.folder, current });
  let thread = null;
  let connectedBefore = false;
  const socket = new MessagesSocket({
    onEvent(frame) {
      if (frame.type === "ready" && frame.unread_total != null) showUnread(Number(frame.unread_total));
      if (frame.type === "inbox") {
        refreshUnread();
        list.refreshSoon();
      }
      if (thread) thread.onFrame(frame);
    },
    onState(state) {
      root.dataset.socket = state;
      // after a reconnect the list may have missed changes: read it again
      if (state === "open" && connectedBefore) { list.refreshSoon(); refreshUnread(); }
      if (state === "open") connectedBefore = true;
    },
  });
  const threadRoot = root.querySelector("[data-thread]");
  if (threadRoot && current) {
    thread = new Thread(threadRoot, {
      me, conversationId: current, socket,
      onRead: (id) => { list.markRead(id); refreshUnread(); },
    });
  }
  socket.connect();
  list.load();
  thread?.start();
  // visible to the browser tests (drop the socket to test resume)
  window.swipemeMessages = { socket, list, thread };
}
