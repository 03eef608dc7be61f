/* A little progressive enhancement for the CRF forms; every page works without it. */
(function () {
  "use strict";

  function valueOf(form, name) {
    var inputs = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < inputs.length; i++) {
      var el = inputs[i];
      if (el.type === "radio" || el.type === "checkbox") {
        if (el.checked) return el.value;
      } else {
        return el.value;
      }
    }
    return "";
  }

  // Conditional fields (pack-years, RT dose, death date, "other, specify"…): hidden and
  // disabled while they do not apply, so a stale value is never submitted.
  function setupConditions(form) {
    var dependants = form.querySelectorAll("[data-show-when]");
    if (!dependants.length) return;
    function update() {
      dependants.forEach(function (wrapper) {
        var spec = wrapper.getAttribute("data-show-when").split(":");
        var wanted = spec[1].split("|");
        var show = wanted.indexOf(valueOf(form, spec[0])) !== -1 ||
          wrapper.classList.contains("has-error");
        wrapper.hidden = !show;
        wrapper.querySelectorAll("input, select, textarea").forEach(function (el) {
          el.disabled = !show;
        });
      });
    }
    form.addEventListener("change", update);
    update();
  }

  // Immune-related terms pre-tick "immune-related: yes"; the user can still change it.
  function setupImmuneTerms(form) {
    var term = form.querySelector("select[data-immune-terms]");
    if (!term) return;
    var immune = term.getAttribute("data-immune-terms").split("|");
    var auto = false;
    term.addEventListener("change", function () {
      var yes = form.querySelector('input[name="immune_related"][value="True"]');
      var no = form.querySelector('input[name="immune_related"][value="False"]');
      if (!yes || !no) return;
      if (immune.indexOf(term.value) !== -1) {
        yes.checked = true;
        auto = true;
      } else if (auto) {
        no.checked = true;
        auto = false;
      }
      form.dispatchEvent(new Event("change"));
    });
  }

  function focusFirst(form) {
    var target = form.querySelector(".has-error input, .has-error select, .has-error textarea");
    // A query page holds several small forms below the thread: only an error takes focus.
    if (!target && form.classList.contains("crf") && !form.classList.contains("query-form")) {
      target = form.querySelector(".field input:not([type=hidden]), .field select");
    }
    if (target && !target.disabled) target.focus();
  }

  // Idle logout (core.security.middleware): warn a minute before the server signs the session
  // out, then go to the login page, so an unattended screen stops showing patient data.
  function setupIdleWarning() {
    var seconds = parseInt(document.body.getAttribute("data-idle-seconds") || "", 10);
    var warning = document.querySelector(".idle-warning");
    if (!seconds || !warning) return;
    window.setTimeout(function () { warning.hidden = false; }, Math.max(seconds - 60, 0) * 1000);
    window.setTimeout(function () {
      window.location.assign(document.body.getAttribute("data-logout-url"));
    }, (seconds + 5) * 1000);
  }

  // Bars sized from data-percent (a style attribute would need an unsafe-inline CSP).
  function setupMeters() {
    document.querySelectorAll(".meter-bar[data-percent]").forEach(function (bar) {
      bar.style.width = bar.getAttribute("data-percent") + "%";
    });
  }

  // Phone header: the navigation folds behind "Menu" (the CSS hides it only with this script).
  function setupMenu() {
    var bar = document.querySelector("header.topbar");
    var toggle = bar && bar.querySelector(".menu-toggle");
    if (!toggle) return;
    toggle.hidden = false;
    bar.classList.add("js-menu");
    toggle.addEventListener("click", function () {
      var open = bar.classList.toggle("is-open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
  }

  // A table or figure wider than a phone scrolls inside its card; keyboard users need to be
  // able to focus that region to scroll it (WCAG 2.1.1), so it becomes a named, focusable region.
  function setupScrollRegions() {
    document.querySelectorAll(".card, .part, .scroll-x, figure").forEach(function (box) {
      var style = window.getComputedStyle(box);
      var scrolls = style.overflowX === "auto" || style.overflowX === "scroll";
      if (!scrolls || box.scrollWidth <= box.clientWidth || box.hasAttribute("tabindex")) return;
      box.setAttribute("tabindex", "0");
      if (!box.hasAttribute("role")) box.setAttribute("role", "region");
      var heading = box.querySelector("h2, h3, caption, figcaption");
      if (!box.hasAttribute("aria-label") && !box.hasAttribute("aria-labelledby")) {
        box.setAttribute("aria-label", heading ? heading.textContent.trim() : document.title);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setupMenu();
    setupScrollRegions();
    setupIdleWarning();
    setupMeters();
    document.querySelectorAll("form.crf").forEach(function (form) {
      setupConditions(form);
      setupImmuneTerms(form);
      focusFirst(form);
    });
  });
})();
