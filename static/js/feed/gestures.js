// How the feed column is moved: the mouse wheel and trackpads (one item per gesture), and
// touch, which scrolls natively with CSS snap, one item per swipe (scroll-snap-stop).

/** Wheel and trackpad: `go(±1)` once per gesture. A trackpad sends a burst of small deltas
 * and then momentum: the gesture is over after 180 ms without wheel events. */
export function bindWheel(root, go) {
  let lock = false;
  let sum = 0;
  let quiet = 0;
  root.addEventListener("wheel", (event) => {
    if (event.ctrlKey) return; // pinch zoom
    event.preventDefault();
    const dy = event.deltaMode === 1 ? event.deltaY * 16
      : event.deltaMode === 2 ? event.deltaY * root.clientHeight : event.deltaY;
    clearTimeout(quiet);
    quiet = setTimeout(() => { lock = false; sum = 0; }, 180);
    if (lock) return;
    sum += dy;
    if (Math.abs(sum) >= 40) {
      lock = true;
      go(sum > 0 ? 1 : -1);
      sum = 0;
    }
  }, { passive: false });
}

/** Touch: the browser says where the snap will land (`scrollsnapchanging`, Chromium 129+)
 * as soon as it knows, before the snap animation carries the item on screen. Once the
 * finger is up, `onTarget(item element, input time)` is called with that item; the input
 * time is the finger's lift. (Where the event is missing, the page's IntersectionObserver
 * activates the item when it is mostly on screen.) */
export function bindSnapTargets(root, onTarget) {
  let touching = false;
  let pending = null;
  let liftedAt = 0;
  const report = (target) => {
    const el = target && target.closest && target.closest(".feed-item");
    if (!el || !root.contains(el)) return;
    const now = performance.now();
    onTarget(el, now - liftedAt < 1000 ? liftedAt : now);
  };
  root.addEventListener("touchstart", () => { touching = true; }, { passive: true });
  root.addEventListener("touchend", () => {
    touching = false;
    liftedAt = performance.now();
    if (pending) report(pending);
  }, { passive: true });
  root.addEventListener("touchcancel", () => { touching = false; }, { passive: true });
  root.addEventListener("scrollsnapchanging", (event) => {
    pending = event.snapTargetBlock;
    if (!touching) report(pending);
  });
  root.addEventListener("scrollsnapchange", () => { pending = null; });
}
