// The field page: fill the report's location from the browser (no inline scripts: CSP).
(function () {
  "use strict";

  const button = document.getElementById("locate");
  const latitude = document.getElementById("latitude");
  const longitude = document.getElementById("longitude");
  const status = document.getElementById("locate-status");
  if (button && latitude && longitude) {
    const say = (text) => { if (status) status.textContent = text; };
    button.addEventListener("click", () => {
      if (!("geolocation" in navigator)) {
        say("此浏览器不能定位，可不填位置");
        return;
      }
      button.disabled = true;
      say("正在定位…");
      navigator.geolocation.getCurrentPosition(
        (position) => {
          latitude.value = position.coords.latitude.toFixed(6);
          longitude.value = position.coords.longitude.toFixed(6);
          say("已获取位置（精度约 " + Math.round(position.coords.accuracy) + " 米）");
          button.disabled = false;
        },
        () => {
          say("未能获取位置，请检查定位权限，或不填位置");
          button.disabled = false;
        },
        { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 }
      );
    });
  }

  // A form sent once: its submit button is disabled until the next page arrives.
  document.querySelectorAll(".field form").forEach((form) => {
    form.addEventListener("submit", () => {
      form.querySelectorAll("button[type=submit]").forEach((b) => { b.disabled = true; });
    });
  });
  // Back to a page kept in the browser's cache: its buttons work again.
  window.addEventListener("pageshow", () => {
    document.querySelectorAll(".field button").forEach((b) => { b.disabled = false; });
  });
})();
