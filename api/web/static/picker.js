/* Camera picker on the map: a popup button ticks the same checkbox as the hamlet list. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  function box(code) { return document.querySelector('input[name="camera_ids"][data-code="' + CSS.escape(code) + '"]'); }
  window.cameraPicker = {
    decoratePopup: function (popup, p) {
      var input = box(p.code);
      if (!input) { return; }
      var button = document.createElement("button");
      button.type = "button";
      function label() { button.textContent = input.checked ? "✓ " + el.dataset.picked : el.dataset.pick; }
      label();
      button.addEventListener("click", function () { input.checked = !input.checked; label(); });
      popup.appendChild(button);
    }
  };
  /* Leaflet cannot size a map inside a closed <details>: redraw when it opens. */
  var details = el && el.closest("details");
  if (details) {
    details.addEventListener("toggle", function () {
      if (details.open && window.cameraMap) {
        window.cameraMap.map.invalidateSize();
        if (window.cameraMap.markers.length) {
          window.cameraMap.map.fitBounds(L.featureGroup(window.cameraMap.markers).getBounds().pad(0.2), { maxZoom: 17 });
        }
      }
    });
  }
})();
