/* A copy button after each full engine resource name (<code class="promo-resource">, from the
   `resource` filter in generator/render.py). Material's `content.code.copy` only serves fenced
   code blocks; this serves the inline names, on mkdocs-material and on Zensical alike (both
   load extra_javascript at the end of the body). No third-party code, no requests.
   Without JavaScript the name is still there to select. */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on another host (no Clipboard API there): the old way.
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      try {
        if (document.execCommand("copy")) resolve(); else reject(new Error("copy refused"));
      } catch (error) {
        reject(error);
      } finally {
        document.body.removeChild(area);
      }
    });
  }

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function addButtons() {
    var codes = document.querySelectorAll(".md-typeset code.promo-resource");
    Array.prototype.forEach.call(codes, function (code) {
      var next = code.nextElementSibling;
      if (next && next.classList.contains("promo-copy")) return;  // already done (instant navigation)
      var text = code.textContent;  // the <wbr>s hold no text: the name exactly as written
      var button = document.createElement("button");
      button.type = "button";
      button.className = "promo-copy";
      button.textContent = "Copy";
      button.title = "Copy " + text;
      button.setAttribute("aria-label", "Copy " + text);
      button.addEventListener("click", function () {
        copyText(text).then(
          function () { button.textContent = "Copied"; },
          function () { selectText(code); button.textContent = "Selected: press Ctrl+C"; }
        );
        window.setTimeout(function () { button.textContent = "Copy"; }, 2000);
      });
      code.insertAdjacentElement("afterend", button);
    });
  }

  // Both themes publish `document$` (each page load, instant navigation included).
  if (window.document$ && typeof window.document$.subscribe === "function") {
    window.document$.subscribe(addButtons);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addButtons);
  } else {
    addButtons();
  }
})();
