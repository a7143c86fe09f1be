/* Play a clip in the page through the logged streaming endpoint once a purpose is given. */
(function () {
  "use strict";
  var form = document.getElementById("play-form");
  var video = document.getElementById("player");
  if (!form || !video) { return; }
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var purpose = form.elements.purpose.value.trim();
    if (purpose.length < 3) { form.elements.purpose.focus(); return; }
    video.hidden = false;
    // purpose and the page's form token travel together (see api/deps.cookie_retrieval_guard)
    video.src = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
    video.play().catch(function () { /* autoplay refused: the controls are there */ });
  });
})();
