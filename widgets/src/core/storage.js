// First-party ids: localStorage, a cookie when storage is blocked, memory when both are. Corrupt values are replaced.
const ID_RE = /^[\w-]{8,64}$/;
const memory = {};

function newId() {
  const c = window.crypto;
  if (c && c.randomUUID) return c.randomUUID();
  const b = new Uint8Array(16);
  if (c && c.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < 16; i++) b[i] = (Math.random() * 256) | 0;
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function readCookie(name) {
  try {
    const m = document.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : "";
  } catch (e) {
    return "";
  }
}

function read(store, name) {
  try {
    return window[store].getItem(name) || "";
  } catch (e) {
    return "";
  }
}

function write(store, name, value) {
  try {
    window[store].setItem(name, value);
    return true;
  } catch (e) {
    return false;
  }
}

export function visitorId() {
  const name = "_pz_v";
  let id = read("localStorage", name) || readCookie(name) || memory.v || "";
  if (!ID_RE.test(id)) id = newId();
  memory.v = id;
  if (!write("localStorage", name, id)) {
    try {
      document.cookie = `${name}=${id}; path=/; max-age=31536000; SameSite=Lax`;
    } catch (e) {
      /* storage fully blocked: the id lives for this page only */
    }
  }
  return id;
}

export function sessionId() {
  let id = read("sessionStorage", "_pz_s") || memory.s || "";
  if (!ID_RE.test(id)) id = newId();
  memory.s = id;
  write("sessionStorage", "_pz_s", id);
  return id;
}
