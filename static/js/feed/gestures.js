// How the feed column is moved: the mouse wheel and trackpads (one item per gesture), and
// touch, which scrolls natively with CSS snap, one item per swipe (scroll-snap-stop).

/** What moved the column, newest last (the browser tests print it when a move surprises them). */
export const moves = [];
window.swipemeMoves = moves;
function trace(via, detail) {
  moves.push({ via, t: Math.round(performance.now()), ...detail });
  if (moves.length > 50) moves.shift();
}

/** Wheel and trackpad: `go(±1)` once per gesture. A trackpad sends a burst of small deltas
 * and then momentum. The gesture is over once no wheel event came for 180 ms *and* the column
 * has settled on the item it moved to: on a busy main thread the events of one burst arrive
 * in clumps with longer gaps, and a quiet period alone let one burst move two items. */
export function bindWheel(root, go) {
  let lock = false; // this gesture has moved (or tried to move) the column
  let quiet = true; // no wheel event for 180 ms
  let moving = false; // the column is still scrolling to the item the gesture moved to
  let sum = 0;
  let quietTimer = 0;
  let movingTimer = 0;
  const release = () => {
    if (quiet && !moving) { lock = false; sum = 0; }
  };
  const settled = () => { moving = false; clearTimeout(movingTimer); release(); };
  root.addEventListener("scrollend", settled);
  root.addEventListener("wheel", (event) => {
    if (event.ctrlKey) return; // pinch zoom
    event.preventDefault();
    const dy = event.deltaMode === 1 ? event.deltaY * 16
      : event.deltaMode === 2 ? event.deltaY * root.clientHeight : event.deltaY;
    quiet = false;
    clearTimeout(quietTimer);
    quietTimer = setTimeout(() => { quiet = true; release(); }, 180);
    if (lock) return;
    sum += dy;
    if (Math.abs(sum) >= 40) {
      const delta = sum > 0 ? 1 : -1;
      lock = true;
      sum = 0;
      const moved = go(delta);
      trace("wheel", { delta, moved, cancelable: event.cancelable });
      if (moved) {
        moving = true;
        // scrollend may not come (a scroll interrupted by another): never hold the lock long
        movingTimer = setTimeout(settled, 1500);
      }
    }
  }, { passive: false });
}

/** Touch: the browser says where the snap will land (`scrollsnapchanging`, Chromium 129+)
 * as soon as it knows, before the snap animation carries the item on screen. Once the
 * finger is up, `onTarget(item element, input time)` is called with that item; the input
 * time is the finger's lift. (Where the event is missing, the page's IntersectionObserver
 * activates the item when it is mostly on screen.)
 *
 * One item per swipe: a hard flick's momentum carries Chromium's snap past the next item
 * (`scroll-snap-stop: always` holds for a drag, not for a fling: a 600 px flick in 50 ms
 * lands two items on). The target reported is therefore never further than the neighbour
 * of the item the finger came down on, and a column that lands further is carried back to
 * that neighbour when the scroll ends. */
export function bindSnapTargets(root, onTarget) {
  let touching = false;
  let pending = null;
  let liftedAt = 0;
  let from = null; // the item on screen when the finger came down
  let touchScrolled = false; // this scroll is the touch gesture's (not a key's or a wheel's)
  const feedItems = () => [...root.children].filter((el) => el.classList.contains("feed-item"));
  const onScreen = () => {
    let best = null;
    for (const el of feedItems()) {
      if (!best || Math.abs(el.offsetTop - root.scrollTop) < Math.abs(best.offsetTop - root.scrollTop)) best = el;
    }
    return best;
  };
  /** `el`, or the neighbour of `from` on the way to it when `el` is further. */
  const oneAway = (el) => {
    const list = feedItems();
    const a = list.indexOf(from);
    const b = list.indexOf(el);
    if (a < 0 || b < 0 || Math.abs(b - a) <= 1) return el;
    return list[a + Math.sign(b - a)];
  };
  const report = (target) => {
    const found = target && target.closest && target.closest(".feed-item");
    if (!found || !root.contains(found)) return;
    const el = oneAway(found);
    const now = performance.now();
    trace("snap", { index: Number(el.dataset.index), touching });
    onTarget(el, now - liftedAt < 1000 ? liftedAt : now);
  };
  root.addEventListener("touchstart", () => {
    touching = true;
    from = onScreen();
    touchScrolled = false;
  }, { passive: true });
  root.addEventListener("touchend", () => {
    touching = false;
    liftedAt = performance.now();
    if (pending) report(pending);
  }, { passive: true });
  root.addEventListener("touchcancel", () => { touching = false; }, { passive: true });
  root.addEventListener("scroll", () => {
    if (touching || performance.now() - liftedAt < 1000) touchScrolled = true;
  }, { passive: true });
  root.addEventListener("scrollsnapchanging", (event) => {
    pending = event.snapTargetBlock;
    if (!touching) report(pending);
  });
  root.addEventListener("scrollsnapchange", () => { pending = null; });
  root.addEventListener("scrollend", () => {
    if (touching) return;
    const landed = onScreen();
    const neighbour = touchScrolled && from && landed ? oneAway(landed) : landed;
    from = null;
    touchScrolled = false;
    if (neighbour && neighbour !== landed) {
      trace("carried back", { index: Number(neighbour.dataset.index) });
      const instant = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
      root.scrollTo({ top: neighbour.offsetTop, behavior: instant ? "auto" : "smooth" });
    }
  });
}
