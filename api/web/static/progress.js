/* Live progress of clip requests: poll each unfinished request until every clip is final. */
(function () {
  "use strict";
  var POLL_MS = 2000;
  function update(node, data) {
    var status = node.querySelector('[data-role="request-status"]');
    status.textContent = data.label;
    status.className = "badge clip-" + data.status;
    data.clips.forEach(function (c) {
      var row = node.querySelector('[data-clip="' + c.id + '"]');
      if (!row) { return; }
      var badge = row.querySelector('[data-role="clip-status"]');
      badge.textContent = c.label;
      badge.className = "badge clip-" + c.status;
      row.querySelector('[data-role="clip-reason"]').textContent = c.reason;
    });
    node.dataset.done = data.done ? "1" : "0";
  }
  function poll(node) {
    fetch("/requests/" + node.dataset.request + "/progress", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        update(node, data);
        if (!data.done) { setTimeout(function () { poll(node); }, POLL_MS); }
      })
      .catch(function () { setTimeout(function () { poll(node); }, POLL_MS * 2); });
  }
  document.querySelectorAll('[data-request][data-done="0"]').forEach(function (node) {
    setTimeout(function () { poll(node); }, POLL_MS);
  });
})();
