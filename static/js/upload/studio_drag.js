// Reordering the studio's clips by dragging a clip's handle (pointer events: a mouse, a pen
// or a finger); the "Earlier"/"Later" buttons do the same from the keyboard. While dragged,
// the clip follows the pointer; dropped, it goes before the first clip whose middle lies
// below the pointer (or last).

/** Make `handle` drag `item` among `nodes()`; `onDrop(index)` gets the new position. */
export function dragToReorder(handle, item, { nodes, onDrop }) {
  handle.style.touchAction = "none";
  handle.addEventListener("pointerdown", (event) => {
    if (event.button !== 0) return;
    event.preventDefault();
    handle.setPointerCapture(event.pointerId);
    const startY = event.clientY;
    item.classList.add("dragging");
    const move = (e) => { item.style.transform = `translateY(${e.clientY - startY}px)`; };
    const end = (e) => {
      handle.removeEventListener("pointermove", move);
      handle.removeEventListener("pointerup", end);
      handle.removeEventListener("pointercancel", end);
      item.classList.remove("dragging");
      item.style.transform = "";
      if (e.type === "pointercancel") return;
      const others = nodes().filter((node) => node !== item);
      let to = others.findIndex((node) => {
        const box = node.getBoundingClientRect();
        return e.clientY < box.top + box.height / 2;
      });
      if (to < 0) to = others.length;
      onDrop(to);
    };
    handle.addEventListener("pointermove", move);
    handle.addEventListener("pointerup", end);
    handle.addEventListener("pointercancel", end);
  });
}
