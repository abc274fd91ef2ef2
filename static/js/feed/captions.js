// The feed's CC button (next to the sound button): shown when the video on screen has a
// caption track (player/subtitles.js adds it from the master playlist), it shows or hides
// the captions of every video in the feed. The choice is the one the post page's CC button
// keeps (player/captions.js: this device's browser remembers it, on by default).
import { captionsWanted, rememberCaptions, subtitleTracks } from "../player/captions.js";

export class FeedCaptions {
  constructor(button) {
    this.button = button;
    this.item = null;
    this.videos = new Set();
    if (!button) return;
    button.addEventListener("click", () => {
      rememberCaptions(!captionsWanted());
      this.apply();
    });
    window.addEventListener("storage", () => this.apply()); // another tab chose
  }

  /** A feed video: its caption tracks follow the choice as they arrive. */
  watch(video) {
    this.videos.add(video);
    if (video.textTracks && video.textTracks.addEventListener) {
      video.textTracks.addEventListener("addtrack", () => this.apply());
    }
  }

  /** The item now on screen. */
  show(item) {
    this.item = item;
    this.apply();
  }

  apply() {
    if (!this.button) return;
    const on = captionsWanted();
    for (const video of this.videos) {
      if (!video.isConnected) { this.videos.delete(video); continue; }
      for (const track of subtitleTracks(video)) track.mode = on ? "showing" : "hidden";
    }
    const count = this.item ? subtitleTracks(this.item.video).length : 0;
    this.button.hidden = !count;
    this.button.setAttribute("aria-pressed", String(on));
    this.button.title = on ? "Hide captions" : "Show captions";
  }
}
