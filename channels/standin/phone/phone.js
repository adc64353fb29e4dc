// The customer phone page of the stand-in providers: text a business address, see its replies and their
// statuses arrive, and read them (which sends read receipts on WhatsApp and Messenger).
const $ = (id) => document.getElementById(id);
const POLL_MS = 1000;
let numbers = [];
let pending = null; // the attached file, as {content_type, data_base64, filename}

function randomNumber() {
  return "+1555" + String(Math.floor(Math.random() * 1e7)).padStart(7, "0");
}

function customerAddress() {
  const number = $("me").value.trim();
  const business = numbers.find((n) => n.address === $("business").value);
  if (!business || !number) return null;
  const bare = number.replace(/^(whatsapp|messenger):/, "");
  if (business.channel === "whatsapp") return "whatsapp:" + bare;
  if (business.channel === "messenger") return "messenger:" + bare.replace(/\D/g, "");
  return bare;
}

async function call(path, options = {}) {
  const response = await fetch(path, {
    headers: { "Content-Type": "application/json" },
    ...options,
  });
  if (!response.ok) {
    const detail = await response.json().catch(() => ({}));
    throw new Error(detail.detail || `HTTP ${response.status}`);
  }
  return response.json();
}

function problem(text) {
  $("problem").textContent = text || "";
  $("problem").hidden = !text;
}

const CHANNEL_NAMES = { sms: "SMS", whatsapp: "WhatsApp", messenger: "Messenger" };
const PROVIDER_NAMES = { twilio: "Twilio", whatsapp_cloud: "WhatsApp Cloud API", messenger: "Messenger Platform" };

function bubble(message) {
  const item = document.createElement("li");
  item.className = "bubble bubble--" + message.direction;
  item.dataset.id = message.provider_message_id;
  if (message.template) {
    const tag = document.createElement("span");
    tag.className = "bubble__template";
    tag.textContent = "Template " + message.template.name;
    item.append(tag);
  }
  if (message.body) item.append(document.createTextNode(message.body));
  if (!message.body && message.template) {
    const params = (message.template.components || []).flatMap((c) => c.parameters || []).map((p) => p.text);
    item.append(document.createTextNode(params.join(", ")));
  }
  for (const url of message.media_urls || []) {
    const image = document.createElement("img");
    image.src = url;
    image.alt = "Attachment";
    item.append(image);
  }
  const meta = document.createElement("span");
  meta.className = "bubble__meta";
  const time = new Date(message.date).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
  meta.textContent = message.direction === "out" ? `${time}` : `${time} · ${message.from}`;
  item.append(meta);
  return item;
}

let shown = "";
async function refresh() {
  const customer = customerAddress();
  if (!customer) return;
  const business = $("business").value;
  const thread = await call(`/_standin/phones/${encodeURIComponent(customer)}/thread`);
  const messages = thread.messages.filter((m) => (m.direction === "out" ? m.to : m.from) === business);
  const key = JSON.stringify(messages.map((m) => [m.provider_message_id, m.status]));
  if (key !== shown) {
    shown = key;
    $("thread").replaceChildren(...messages.map(bubble));
    $("empty").hidden = messages.length > 0;
    $("thread").lastElementChild?.scrollIntoView({ block: "end" });
  }
  if (document.visibilityState === "visible" && messages.some((m) => m.direction === "in" && m.status === "delivered")) {
    await call(`/_standin/phones/${encodeURIComponent(customer)}/read`, { method: "POST", body: "{}" });
  }
}

async function send(event) {
  event.preventDefault();
  const customer = customerAddress();
  const body = $("text").value.trim();
  if (!customer || (!body && !pending)) return;
  $("send").disabled = true;
  try {
    const answer = await call(`/_standin/phones/${encodeURIComponent(customer)}/send`, {
      method: "POST",
      body: JSON.stringify({
        to: $("business").value,
        body: body || null,
        media: pending ? [pending] : [],
        profile_name: $("name").value.trim() || null,
      }),
    });
    if (answer.status_code >= 400 || answer.status_code === 0) {
      problem(`The contact center did not take the message (HTTP ${answer.status_code || "no answer"}).`);
    } else {
      problem("");
      $("text").value = "";
      pending = null;
      $("attach").value = "";
      $("attached").hidden = true;
    }
    await refresh();
  } catch (error) {
    problem(error.message);
  } finally {
    $("send").disabled = false;
  }
}

function attach() {
  const file = $("attach").files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => {
    pending = { content_type: file.type || "application/octet-stream", data_base64: reader.result.split(",")[1], filename: file.name };
    $("attached").textContent = file.name;
    $("attached").hidden = false;
  };
  reader.readAsDataURL(file);
}

async function start() {
  const params = new URLSearchParams(location.search);
  $("me").value = params.get("me") || localStorage.getItem("standin-phone") || randomNumber();
  localStorage.setItem("standin-phone", $("me").value);
  try {
    numbers = await call("/_standin/numbers");
  } catch (error) {
    problem("The stand-in providers cannot be reached: " + error.message);
    return;
  }
  if (!numbers.length) problem("No business numbers are registered with the stand-in yet.");
  $("business").replaceChildren(
    ...numbers.map((n) => new Option(`${CHANNEL_NAMES[n.channel]} ${n.address.replace(/^(whatsapp|messenger):/, "")} via ${PROVIDER_NAMES[n.provider]}`, n.address)),
  );
  if (params.get("to")) $("business").value = params.get("to");
  if (params.get("name")) $("name").value = params.get("name");
  $("me").addEventListener("change", () => { localStorage.setItem("standin-phone", $("me").value); shown = ""; refresh(); });
  $("business").addEventListener("change", () => { shown = ""; refresh(); });
  $("compose").addEventListener("submit", send);
  $("attach").addEventListener("change", attach);
  const poll = async () => {
    try { await refresh(); } catch (error) { problem(error.message); }
    setTimeout(poll, POLL_MS);
  };
  poll();
}

start();
