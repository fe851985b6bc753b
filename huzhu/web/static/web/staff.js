// Behaviour of the staff pages without inline script (Content-Security-Policy):
//   <button data-confirm="question">  asks before submitting its form
//   <button data-print>               prints the page
document.addEventListener("click", function (event) {
  var el = event.target.closest("[data-confirm],[data-print]");
  if (!el) return;
  if (el.hasAttribute("data-print")) {
    event.preventDefault();
    window.print();
  } else if (!window.confirm(el.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
