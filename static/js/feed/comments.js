// The feed's comments drawer: the shared comment thread (lib/comments.js) in a dialog for
// the rail whose comment button opened it.
import { CommentThread } from "../lib/comments.js";
import { promptSignup } from "./sheets.js";

const drawer = document.getElementById("comments-drawer");
let rail = null;
const thread = new CommentThread(drawer, {
  onSignup: promptSignup,
  onCommented: () => {
    if (!rail) return undefined;
    rail.commented();
    return rail.state.comments;
  },
  reportsUrl: document.getElementById("feed")?.dataset.reportsUrl || "",
});

drawer.querySelector(".close").addEventListener("click", () => drawer.close());
drawer.addEventListener("click", (event) => { if (event.target === drawer) drawer.close(); });
drawer.addEventListener("close", () => {
  if (rail) rail.buttons.comment.focus({ preventScroll: true });
  rail = null;
  thread.close();
});

export function openComments(target) {
  rail = target;
  drawer.showModal();
  thread.open({ id: target.post.id, comments: target.state.comments,
                commentPolicy: target.post.comment_policy,
                signedIn: target.config.signedIn, me: target.config.me });
}
