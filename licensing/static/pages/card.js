/* The card field of the pages: Stripe.js collects the card in #card-element and hands back
   its id, which the form then sends (the number never reaches this service). When the bank
   asks for 3-D Secure, the order page completes it with the order's client secret. */
(function () {
  "use strict";

  function showCardError(form, message) {
    var error = document.getElementById("card-error");
    error.textContent = message;
    form.querySelector("#card-element").parentElement.classList.add("invalid");
  }

  function cardForm(form) {
    var stripe = Stripe(form.dataset.stripeKey);
    var card = stripe.elements().create("card");
    card.mount("#card-element");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var button = form.querySelector("button[type=submit]");
      button.disabled = true;
      stripe.createToken(card).then(function (result) {
        if (result.error || !result.token) {
          var message = (result.error && result.error.message) || "";
          showCardError(form, message || "This card could not be read; check its details.");
          button.disabled = false;
          return;
        }
        form.elements.card.value = result.token.card.id;
        form.submit();
      });
    });
  }

  function confirmPayment(holder) {
    var stripe = Stripe(holder.dataset.stripeKey);
    stripe.confirmCardPayment(holder.dataset.clientSecret).then(function () {
      window.location.replace(window.location.pathname);
    });
  }

  var form = document.querySelector("form[data-card-form]");
  if (form) {
    cardForm(form);
  }
  var holder = document.getElementById("confirm-payment");
  if (holder) {
    confirmPayment(holder);
  }
})();
