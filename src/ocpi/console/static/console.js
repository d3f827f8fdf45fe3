// The console's own few lines: ask before a form marked data-confirm is sent.
// (No inline handlers: the Content-Security-Policy allows scripts from the node only.)
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
}, true);
