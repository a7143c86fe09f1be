/* Camera map: markers coloured by status, popup with name, hamlet, status since and a link.
   Plain JavaScript on Leaflet; no tile server configured -> plain background, markers only. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  var dataEl = document.getElementById("map-data");
  if (!el || !dataEl || typeof L === "undefined") { return; }
  var points = JSON.parse(dataEl.textContent || "[]");
  var COLORS = { online: "#1b8a3a", degraded: "#c77700", offline: "#c62828", unauthorized: "#7b1fa2",
                 maintenance: "#546e7a", unknown: "#9e9e9e" };
  var map = L.map(el, { zoomSnap: 0.5, attributionControl: !!el.dataset.tiles });
  if (el.dataset.tiles) {
    L.tileLayer(el.dataset.tiles, { maxZoom: 19 }).addTo(map);
  }
  function text(tag, value, cls) {
    var node = document.createElement(tag);
    node.textContent = value;
    if (cls) { node.className = cls; }
    return node;
  }
  function popup(p) {
    var box = document.createElement("div");
    box.className = "popup";
    box.appendChild(text("strong", p.name));
    box.appendChild(text("div", p.code + " · " + p.hamlet, "muted"));
    box.appendChild(text("span", p.status_label, "badge st-" + p.status));
    box.appendChild(text("div", p.since));
    var link = text("a", el.dataset.open || "→");
    link.href = p.url;
    box.appendChild(link);
    if (window.cameraPicker) { window.cameraPicker.decoratePopup(box, p); }
    return box;
  }
  var markers = [];
  points.forEach(function (p) {
    var m = L.circleMarker([p.lat, p.lon], { radius: 9, weight: 2, color: "#fff", fillOpacity: 0.9,
                                            fillColor: COLORS[p.status] || COLORS.unknown });
    m.bindPopup(function () { return popup(p); });
    m.options.cameraCode = p.code;
    m.addTo(map);
    markers.push(m);
  });
  if (markers.length) {
    map.fitBounds(L.featureGroup(markers).getBounds().pad(0.2), { maxZoom: 17 });
  } else {
    map.setView([16.0, 106.0], 5);
  }
  el.dataset.ready = String(markers.length);
  window.cameraMap = { map: map, markers: markers };
})();
