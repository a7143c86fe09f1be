/* Play a clip in the page through the logged streaming endpoint once a purpose is given. */
(function () {
  "use strict";
  var form = document.getElementById("play-form");
  var video = document.getElementById("player");
  if (!form || !video) { return; }
  function viewingId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }
  form.addEventListener("submit", function (event) {
    if (event.submitter && event.submitter.id === "package-button") { return; }  // the browser downloads it
    event.preventDefault();
    var purpose = form.elements.purpose.value.trim();
    if (purpose.length < 3) { form.elements.purpose.focus(); return; }
    video.hidden = false;
    // purpose and the page's form token travel together (see api/deps.cookie_retrieval_guard)
    // one viewing id per press of "play": the seeks of this viewing are one "viewed" event
    var params = new URLSearchParams(new FormData(form));
    params.delete("play");
    params.set("viewing", viewingId());
    video.src = form.action + "?" + params.toString();
    video.play().catch(function () { /* autoplay refused: the controls are there */ });
  });
})();
