/* seonbyeol admin UI, department desk: one progressive enhancement, "select every row".
   Without JavaScript the button stays hidden and each checkbox works on its own. */
(function () {
  "use strict";

  function reveal(root) {
    root.querySelectorAll("[data-pick-all]").forEach(function (button) {
      button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-pick-all]");
    if (!button) {
      return;
    }
    var form = button.closest("form");
    var boxes = Array.prototype.slice.call(form.querySelectorAll("input[data-pick]"));
    var all = boxes.length > 0 && boxes.every(function (box) { return box.checked; });
    boxes.forEach(function (box) { box.checked = !all; });
    button.setAttribute("aria-pressed", String(!all));
  });

  document.addEventListener("DOMContentLoaded", function () { reveal(document); });
  document.addEventListener("htmx:afterSettle", function (event) { reveal(event.target); });
})();
