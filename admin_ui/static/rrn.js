/* seonbyeol admin UI: check a resident registration number while it is typed.
 *
 * Progressive enhancement only: the server checks every submission the same way
 * (service/rrn.py), and the form works without this file. The number never leaves the
 * page here: nothing is sent, stored or logged. Messages come from the input's data-msg-*
 * attributes, so they are in the page's language. Same rules as the server: YYMMDD-NNNNNNN
 * or 13 digits, the first six a real date in the century the 7th digit gives (1/2/5/6 1900s,
 * 3/4/7/8 2000s, 9/0 1800s); the last digit is not a checksum (random since October 2020).
 */
(function () {
  "use strict";

  var CENTURY = { "1": 1900, "2": 1900, "5": 1900, "6": 1900, "3": 2000, "4": 2000, "7": 2000, "8": 2000, "9": 1800, "0": 1800 };

  function realDate(year, month, day) {
    if (month < 1 || month > 12 || day < 1) return false;
    var last = new Date(Date.UTC(year, month, 0)).getUTCDate();
    return day <= last;
  }

  /* The message key for what is typed so far, "ok" when complete, "" when nothing to say yet. */
  function judge(value) {
    var text = value.trim();
    if (!text) return "";
    if (/[^0-9-]/.test(text)) return "chars";
    var hyphen = text.indexOf("-");
    if (hyphen !== -1 && (hyphen !== 6 || text.indexOf("-", hyphen + 1) !== -1)) return "chars";
    var digits = text.replace("-", "");
    if (digits.length > 13) return "long";
    if (digits.length >= 6) {
      var yy = parseInt(digits.slice(0, 2), 10);
      var month = parseInt(digits.slice(2, 4), 10);
      var day = parseInt(digits.slice(4, 6), 10);
      // Before the 7th digit the century is unknown: 29 February passes until it is known.
      var year = digits.length >= 7 ? CENTURY[digits.charAt(6)] + yy : 2000;
      if (!realDate(year, month, day)) return "date";
    }
    return digits.length === 13 ? "ok" : "";
  }

  function attach(input) {
    var group = input.closest(".form-group");
    var conts = input.closest(".form-conts");
    if (!group) return;
    var live = document.createElement("p");
    live.className = "form-hint admin-rrn-live";
    live.id = input.id + "-live";
    live.setAttribute("aria-live", "polite");
    group.appendChild(live);
    var described = input.getAttribute("aria-describedby");
    input.setAttribute("aria-describedby", (described ? described + " " : "") + live.id);

    function update() {
      var key = judge(input.value);
      var bad = key !== "" && key !== "ok";
      live.textContent = key ? input.getAttribute("data-msg-" + key) || "" : "";
      live.className = (bad ? "form-hint-invalid" : "form-hint") + " admin-rrn-live" + (key === "ok" ? " is-ok" : "");
      if (conts) conts.classList.toggle("is-error", bad);
      if (bad) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    }

    input.addEventListener("input", update);
    input.addEventListener("blur", update);
  }

  function start() {
    var inputs = document.querySelectorAll("input[data-rrn-check]");
    for (var i = 0; i < inputs.length; i++) attach(inputs[i]);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
