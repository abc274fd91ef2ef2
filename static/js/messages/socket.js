// The one websocket of the inbox, /ws/messages/ (issue 15, "Delivery"). The server puts the
// connection in this person's group (inbox changes: unread counts, previews) and, after a
// subscribe frame, in one conversation's group (its messages, typing, read receipts).
// - Resume: a subscribe carries `after`, the last change_seq this page has seen; the server
//   replays every change past it, oldest first, then live ones. A reconnect sends the
//   subscribe again with the page's latest change_seq, so nothing is lost and the thread
//   drops what it already has (by message id and change_seq).
// - Reconnects with exponential backoff (1 s doubling to 30 s, with jitter); a refusal
//   (close code 44xx: logged out, deactivated) stops it.
const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;

export class MessagesSocket {
  /** onEvent(frame): every frame the server sends; onState("open" | "closed"). */
  constructor({ onEvent, onState = () => {} }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.delay = MIN_DELAY_MS;
    this.socket = null;
    this.subscription = null; // {conversation, after: () => change_seq}
    this.stopped = false;
    this.opens = 0; // how many times it connected (tests look at reconnects)
  }

  connect() {
    if (!("WebSocket" in window)) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/messages/`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = MIN_DELAY_MS;
      this.opens += 1;
      if (this.subscription) this.sendSubscribe();
      this.onState("open");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      this.onEvent(frame);
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onState("closed");
      if (this.stopped || (event.code >= 4400 && event.code < 4500)) return;
      const wait = this.delay * (0.75 + Math.random() * 0.5);
      this.delay = Math.min(this.delay * 2, MAX_DELAY_MS);
      setTimeout(() => this.connect(), wait);
    });
  }

  get isOpen() {
    return Boolean(this.socket && this.socket.readyState === WebSocket.OPEN);
  }

  send(frame) {
    if (!this.isOpen) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  /** Follow one conversation from `after()` on (asked again at every reconnect). */
  subscribe(conversation, after) {
    this.subscription = { conversation: String(conversation), after };
    this.sendSubscribe();
  }

  sendSubscribe() {
    const { conversation, after } = this.subscription;
    this.send({ type: "subscribe", conversation, after: after() });
  }

  typing(conversation) {
    this.send({ type: "typing", conversation: String(conversation) });
  }

  /** Drop the connection now (the test of resume after a reconnect uses it). */
  drop() {
    if (this.socket) this.socket.close();
  }
}
