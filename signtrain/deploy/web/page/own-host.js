// The page talks to its own host only.  MediaPipe's Tasks library posts usage logs to a Google
// address every minute; that, and anything else addressed to another host, is refused here before
// it leaves (imported first, before any library can send).
const own = (url) => {
  const text = String(url);
  return text.startsWith("blob:") || text.startsWith("data:") || new URL(text, location.href).origin === location.origin;
};
const refuse = (url) => new TypeError(`this page loads nothing from another host (${new URL(String(url), location.href).host})`);

const fetchOwn = window.fetch.bind(window);
window.fetch = (input, init) => {
  const url = typeof input === "string" || input instanceof URL ? input : input.url;
  return own(url) ? fetchOwn(input, init) : Promise.reject(refuse(url));
};
const openOwn = XMLHttpRequest.prototype.open;
XMLHttpRequest.prototype.open = function open(method, url, ...rest) {
  if (!own(url)) throw refuse(url);
  return openOwn.call(this, method, url, ...rest);
};
if (navigator.sendBeacon) {
  const beaconOwn = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => own(url) && beaconOwn(url, data);
}
