// The console's login page: posts the user and password as JSON to
// /api/login, then goes to the console.  No data is shown here.
"use strict";
(function () {
  const form = document.getElementById("login-form");
  const message = document.getElementById("login-message");
  form.addEventListener("submit", async function (event) {
    event.preventDefault();
    message.textContent = "";
    const body = JSON.stringify({
      user: document.getElementById("user").value,
      password: document.getElementById("password").value,
    });
    let response;
    try {
      response = await fetch("/api/login", {
        method: "POST", credentials: "same-origin", body: body,
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
      });
    } catch (e) {
      message.textContent = "The console cannot be reached.";
      return;
    }
    if (response.ok) {
      window.location.assign("/");
      return;
    }
    let text = "Login failed.";
    try {
      text = (await response.json()).error || text;
    } catch (e) { /* not JSON */ }
    message.textContent = text;
  });
})();
