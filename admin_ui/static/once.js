/* seonbyeol admin UI: a form marked data-submit-once is sent once, however often it is clicked.
 *
 * Progressive enhancement: without this file the server still registers a re-sent nomination
 * form once (its form id) and a confirmation once (the kept rows are claimed atomically); this
 * only spares a double click the second request. The pressed button says the form is on its way.
 */
(function () {
  "use strict";

  function guard(form) {
    if (form.hasAttribute("data-submit-once-ready")) return; // the script twice on a page: one guard
    form.setAttribute("data-submit-once-ready", "");
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-submitting") === "true") {
        event.preventDefault();
        return;
      }
      form.setAttribute("data-submitting", "true");
      form.setAttribute("aria-busy", "true");
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-submit-once]");
    for (var i = 0; i < forms.length; i++) guard(forms[i]);
    // Back to a page from the browser's cache: its forms may be sent again (the server decides).
    window.addEventListener("pageshow", function () {
      for (var j = 0; j < forms.length; j++) {
        forms[j].removeAttribute("data-submitting");
        forms[j].removeAttribute("aria-busy");
      }
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
