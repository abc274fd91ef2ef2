// The live's room: one websocket to /ws/live/<id>/ (apps/live/chat/consumer.py). Frames
// are JSON objects with a `type` (a `batch` carries several, in order); the page hands each to its part (chat, likes, gifts,
// viewers, the state). Reconnects with backoff (1 s doubling to 30 s, with jitter); the
// close code 4000 is the live's end, 44xx a refusal (banned, not allowed): both stop it.
const MIN_DELAY_MS = 1000;
const MAX_DELAY_MS = 30000;
const CLOSE_ENDED = 4000;

export class ChatRoom {
  constructor(liveId, { onFrame, onEnded, onState = () => {} }) {
    this.liveId = liveId;
    this.onFrame = onFrame;
    this.onEnded = onEnded;
    this.onState = onState;
    this.socket = null;
    this.delay = MIN_DELAY_MS;
    this.stopped = false;
    this.opens = 0;
  }

  connect() {
    if (!("WebSocket" in window) || this.stopped) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/live/${this.liveId}/`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = MIN_DELAY_MS;
      this.opens += 1;
      this.onState("open");
    });
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      if (!frame || typeof frame.type !== "string") return;
      // the server coalesces frames for everyone into a `batch`: each, in order
      const frames = frame.type === "batch" && Array.isArray(frame.frames) ? frame.frames : [frame];
      for (const one of frames) {
        if (one && typeof one.type === "string") this.onFrame(one);
      }
    });
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.onState("closed", event);
      if (event.code === CLOSE_ENDED) { this.stopped = true; this.onEnded(); return; }
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

  stop() {
    this.stopped = true;
    if (this.socket) this.socket.close(1000);
  }
}
