/* Diagrams at their natural size (16 px text), scrolling sideways in their own box when the
   screen is narrower, instead of shrunk to the column: a four-environment flow shrunk to a
   phone's 390 px is ~6 px text. mkdocs-material and Zensical both call mermaid.initialize
   with their own options (theme, CSS) when a page has a diagram; this keeps theirs and adds
   ours. Loaded after mermaid.min.js and before either bundle initialises it. */
(function () {
  if (typeof window.mermaid === "undefined" || typeof window.mermaid.initialize !== "function") {
    return;
  }
  var initialize = window.mermaid.initialize.bind(window.mermaid);
  window.mermaid.initialize = function (config) {
    var merged = Object.assign({}, config);
    merged.flowchart = Object.assign({}, merged.flowchart, { useMaxWidth: false });
    return initialize(merged);
  };
})();
