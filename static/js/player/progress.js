// The thin progress bar under a video: shows the position, can be dragged or moved with the
// arrow keys (a labelled slider), and while dragging shows the storyboard sprite's frame.
const storyboards = new Map(); // json url -> Promise<meta|null>

function loadStoryboard(urls) {
  if (!urls || !urls.json) return Promise.resolve(null);
  if (!storyboards.has(urls.json)) {
    storyboards.set(urls.json, fetch(urls.json, { credentials: "same-origin" })
      .then((r) => (r.ok ? r.json() : null)).catch(() => null));
  }
  return storyboards.get(urls.json);
}

export class ProgressBar {
  constructor(root, video, storyboard) {
    this.root = root;
    this.video = video;
    this.storyboard = storyboard;
    this.fill = root.querySelector(".progress-fill");
    this.preview = root.querySelector(".progress-preview");
    this.dragging = false;
    this.raf = 0;
    root.addEventListener("pointerdown", (e) => this.start(e));
    root.addEventListener("pointermove", (e) => this.move(e));
    root.addEventListener("pointerup", (e) => this.end(e));
    root.addEventListener("pointercancel", (e) => this.end(e));
    root.addEventListener("keydown", (e) => this.key(e));
    // the bar's own gestures are not feed swipes or taps on the video
    root.addEventListener("click", (e) => e.stopPropagation());
    root.addEventListener("touchstart", (e) => e.stopPropagation(), { passive: true });
  }

  startTicking() {
    const tick = () => {
      if (!this.dragging) this.render(); // while dragging the bar follows the pointer
      this.raf = requestAnimationFrame(tick);
    };
    cancelAnimationFrame(this.raf);
    this.raf = requestAnimationFrame(tick);
  }

  stopTicking() { cancelAnimationFrame(this.raf); this.raf = 0; }

  render(fraction) {
    const d = this.video.duration;
    const f = fraction ?? (d ? this.video.currentTime / d : 0);
    this.fill.style.transform = `scaleX(${Math.min(1, Math.max(0, f))})`;
    if (d) {
      this.root.setAttribute("aria-valuenow", String(Math.round(f * d)));
      this.root.setAttribute("aria-valuemax", String(Math.round(d)));
      this.root.setAttribute("aria-valuetext",
        `${Math.round(f * d)} of ${Math.round(d)} seconds`);
    }
  }

  fractionAt(event) {
    const box = this.root.getBoundingClientRect();
    return Math.min(1, Math.max(0, (event.clientX - box.left) / box.width));
  }

  start(event) {
    event.stopPropagation();
    this.dragging = true;
    this.wasPlaying = !this.video.paused;
    this.root.setPointerCapture(event.pointerId);
    this.root.classList.add("dragging");
    this.move(event);
  }

  async move(event) {
    if (!this.dragging) return;
    const f = this.fractionAt(event);
    this.render(f);
    const meta = await loadStoryboard(this.storyboard);
    if (!meta || !this.dragging) return;
    const seconds = f * (this.video.duration || 0);
    const index = Math.min(meta.count - 1, Math.floor(seconds / meta.interval));
    const x = (index % meta.columns) * meta.width;
    const y = Math.floor(index / meta.columns) * meta.height;
    const p = this.preview;
    p.style.width = `${meta.width}px`;
    p.style.height = `${meta.height}px`;
    p.style.backgroundImage = `url("${this.storyboard.image}")`;
    p.style.backgroundPosition = `-${x}px -${y}px`;
    const box = this.root.getBoundingClientRect();
    const left = Math.min(box.width - meta.width, Math.max(0, f * box.width - meta.width / 2));
    p.style.transform = `translateX(${left}px)`;
    p.hidden = false;
  }

  end(event) {
    if (!this.dragging) return;
    event.stopPropagation();
    this.dragging = false;
    this.root.classList.remove("dragging");
    this.preview.hidden = true;
    const d = this.video.duration;
    if (d) this.video.currentTime = this.fractionAt(event) * d;
    if (this.wasPlaying) this.video.play().catch(() => {});
  }

  key(event) {
    const d = this.video.duration;
    if (!d) return;
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -Infinity, End: Infinity }[event.key];
    if (step === undefined) return;
    event.preventDefault();
    event.stopPropagation();
    this.video.currentTime = Math.min(d - 0.05, Math.max(0, this.video.currentTime + step));
    this.render();
  }
}
