// The preview page's behaviour: reload when the issue is recomposed, switch the emails between
// light and dark, and make each email frame as tall as its email so only the page scrolls.
(() => {
  const meta = document.querySelector('meta[name="weekly-version"]');
  const version = meta ? Number(meta.content) : 0;
  const events = new EventSource("/events?since=" + version);
  events.onmessage = () => {
    events.close();
    location.reload();
  };

  const frames = Array.from(document.querySelectorAll("iframe.email"));
  const fit = (frame) => {
    const doc = frame.contentDocument;
    if (doc && doc.documentElement) {
      frame.style.height = doc.documentElement.scrollHeight + "px";
    }
  };
  frames.forEach((frame) => {
    frame.addEventListener("load", () => fit(frame));
    fit(frame);
  });

  const toggle = document.getElementById("dark");
  if (!toggle) {
    return;
  }
  const key = "weekly-preview-dark";
  const apply = () => {
    const dark = localStorage.getItem(key) === "1";
    toggle.checked = dark;
    document.documentElement.classList.toggle("dark", dark);
    const src = dark ? "/email.html?scheme=dark" : "/email.html";
    frames.forEach((frame) => {
      if (frame.getAttribute("src") !== src) {
        frame.setAttribute("src", src);
      }
    });
  };
  toggle.addEventListener("change", () => {
    localStorage.setItem(key, toggle.checked ? "1" : "0");
    apply();
  });
  apply();
})();
