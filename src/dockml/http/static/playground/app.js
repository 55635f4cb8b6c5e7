// The dockml playground: a card per served model, built from GET /models.
// Plain JavaScript, no build step; every call is an ordinary API call to this server.
"use strict";

const KEY_STORAGE = "dockml.apiKey";
const MAX_TABLE_ROWS = 1000;
const DRAW_DEBOUNCE_MS = 150;

// ---- DOM helpers -------------------------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child instanceof Node ? child : String(child));
    }
  }
  return node;
}

function show(region, ...children) {
  region.replaceChildren(...children.flat());
}

// ---- API calls ---------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, title, detail, errors) {
    super(detail);
    this.status = status;
    this.title = title;
    this.errors = errors || [];
  }
}

async function call(path, options = {}) {
  const headers = new Headers(options.headers || {});
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.set("Authorization", `Bearer ${key}`);
  let response;
  try {
    response = await fetch(path, { ...options, headers });
  } catch (error) {
    throw new ApiError(0, "Network error", `the server could not be reached (${error.message})`);
  }
  if (response.ok) return response;
  let problem = {};
  try {
    problem = await response.json();
  } catch (error) {
    problem = {};
  }
  if (response.status === 401) askForKey();
  throw new ApiError(
    response.status,
    problem.title || response.statusText || "Error",
    problem.detail || `the server answered ${response.status}`,
    problem.errors,
  );
}

function renderError(error) {
  if (!(error instanceof ApiError)) {
    return h("div", { class: "error" }, h("p", {}, h("strong", { text: "Error: " }), String(error.message || error)));
  }
  const heading = error.status ? `${error.status} ${error.title}` : error.title;
  const help = error.status === 401 ? "Enter the server's API key in the form at the top of the page." : null;
  const fields = error.errors.filter((item) => item.field);
  const detailRepeats = fields.length === 1 && fields[0].message === error.message;
  return h(
    "div",
    { class: "error" },
    h("p", {}, h("strong", { text: `${heading}: ` }), detailRepeats ? null : error.message),
    fields.length
      ? h("ul", { class: "fields" }, fields.map((item) => h("li", {}, h("code", { text: item.field }), ": ", item.message)))
      : null,
    help ? h("p", { text: help }) : null,
  );
}

// ---- The API key -------------------------------------------------------------------------

function askForKey() {
  const section = document.getElementById("key");
  const wasHidden = section.hidden;
  section.hidden = false;
  if (wasHidden) document.getElementById("key-input").focus();
}

function setUpKeyForm() {
  const form = document.getElementById("key-form");
  const input = document.getElementById("key-input");
  if (sessionStorage.getItem(KEY_STORAGE)) document.getElementById("key").hidden = false;
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY_STORAGE, input.value.trim());
    input.value = "";
    loadModels();
  });
  document.getElementById("key-forget").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    input.value = "";
    loadModels();
  });
}

// ---- Predictions -------------------------------------------------------------------------

function formatProbability(p) {
  return `${(p * 100).toFixed(p >= 0.995 || p === 0 ? 0 : 1)}%`;
}

function renderPrediction(body, index = 0) {
  const prediction = body.predictions[index];
  const label = Array.isArray(prediction) ? prediction.join(", ") : prediction;
  const probabilities = body.probabilities ? body.probabilities[index] : null;
  const parts = [h("p", { class: "prediction" }, "Prediction: ", h("strong", { class: "label", text: String(label) }))];
  if (probabilities) {
    const best = Math.max(...Object.values(probabilities));
    parts.push(
      h(
        "ul",
        { class: "bars", "aria-label": "Class probabilities" },
        Object.entries(probabilities).map(([name, p]) => {
          const fill = h("span", { class: "fill" });
          fill.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
          return h(
            "li",
            { class: p === best ? "best" : null },
            h("span", { class: "name", text: name }),
            h("span", { class: "track", "aria-hidden": "true" }, fill),
            h("span", { class: "value", text: formatProbability(p) }),
          );
        }),
      ),
    );
  }
  return parts;
}

// ---- One row: a form generated from the signature ----------------------------------------

function parseValue(feature, control) {
  const raw = control.value;
  // An empty field is a missing value (null) for an input the model can do without.
  if (feature.allows_missing && raw.trim() === "") return null;
  if (control.tagName === "SELECT") return feature.categories[Number(raw)];
  if (feature.type === "string") return raw;
  if (feature.type === "boolean") return raw === "true" ? true : raw === "false" ? false : raw;
  const number = Number(raw.trim());
  // Anything that is not a plain number goes to the API as typed, so the API's message explains it.
  return raw.trim() !== "" && Number.isFinite(number) ? number : raw;
}

function field(feature, id) {
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  let control;
  let choices = null;
  if (feature.categories && !feature.allows_unknown) {
    const options = feature.categories.map((category, i) =>
      h("option", { value: i, selected: category === feature.example, text: String(category) }),
    );
    if (feature.allows_missing) options.push(h("option", { value: "", text: "(missing)" }));
    control = h("select", { id, name: feature.name, "aria-describedby": hintId }, options);
  } else if (feature.categories) {
    // The model takes values it never saw: free text, with the known ones offered.
    const listId = `${id}-choices`;
    choices = h("datalist", { id: listId }, feature.categories.map((category) => h("option", { value: String(category) })));
    control = h("input", {
      id,
      name: feature.name,
      type: "text",
      list: listId,
      autocomplete: "off",
      value: feature.example ?? "",
      "aria-describedby": hintId,
    });
  } else {
    const numeric = feature.type !== "string";
    control = h("input", {
      id,
      name: feature.name,
      type: "text",
      inputmode: numeric ? (feature.type === "integer" ? "numeric" : "decimal") : null,
      autocomplete: "off",
      spellcheck: "false",
      value: feature.example ?? "",
      "aria-describedby": hintId,
    });
  }
  const kind = feature.categories ? (feature.allows_unknown ? "known values offered, others accepted" : "one of the choices") : feature.type;
  const hint = [feature.description, kind, feature.allows_missing ? "may be left empty" : ""].filter(Boolean).join(" · ");
  return {
    feature,
    control,
    errorId,
    node: h(
      "div",
      { class: "field" },
      h("label", { for: id, text: feature.name }),
      control,
      choices,
      h("small", { id: hintId, class: "hint", text: hint }),
      h("small", { id: errorId, class: "field-error", hidden: true }),
    ),
  };
}

function markFields(fields, error) {
  for (const { control, errorId } of fields) {
    control.removeAttribute("aria-invalid");
    control.setAttribute("aria-describedby", `${control.id}-hint`);
    const message = document.getElementById(errorId);
    message.hidden = true;
    message.textContent = "";
  }
  if (!error) return;
  let first = null;
  for (const item of error.errors || []) {
    const match = fields.find((f) => f.feature.name === item.field);
    if (!match) continue;
    match.control.setAttribute("aria-invalid", "true");
    match.control.setAttribute("aria-describedby", `${match.control.id}-hint ${match.errorId}`);
    const message = document.getElementById(match.errorId);
    message.textContent = item.message;
    message.hidden = false;
    first = first || match.control;
  }
  return first;
}

function formTool(model, uid, proba) {
  const inputs = model.signature.inputs;
  const fields = inputs.map((feature, i) => field(feature, `${uid}-f${i}`));
  const result = h("div", { class: "result", "aria-live": "polite", "aria-atomic": "true" });
  const button = h("button", { type: "submit", text: "Predict" });
  const form = h(
    "form",
    { class: "fields", novalidate: true, "aria-label": `One row for ${model.name}` },
    h("div", { class: "grid" }, fields.map((f) => f.node)),
    h("div", { class: "actions" }, button),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const record = Object.fromEntries(fields.map(({ feature, control }) => [feature.name, parseValue(feature, control)]));
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    try {
      const response = await call(model.endpoints.predict + (proba ? "?proba=true" : ""), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(record),
      });
      markFields(fields);
      show(result, renderPrediction(await response.json()));
    } catch (error) {
      markFields(fields, error);
      show(result, renderError(error));
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  });
  const many = inputs.length > 12;
  const body = many
    ? h("details", {}, h("summary", { text: `Enter the ${inputs.length} values` }), form)
    : form;
  return h(
    "section",
    { class: "tool", "data-tool": "form", "aria-labelledby": `${uid}-form-title` },
    h("h3", { id: `${uid}-form-title`, text: "One row" }),
    h("p", { class: "hint", text: `POST ${model.endpoints.predict}, with the example values filled in.` }),
    body,
    result,
  );
}

// ---- CSV file ----------------------------------------------------------------------------

function parseCsv(text) {
  const rows = [];
  let row = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") {
      row.push(cell);
      cell = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
    } else cell += c;
  }
  if (cell !== "" || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

function csvTable(text, fileName, downloadName, uid) {
  const [header, ...rows] = parseCsv(text);
  const shown = rows.slice(0, MAX_TABLE_ROWS);
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  const captionId = `${uid}-csv-caption`;
  return {
    url,
    nodes: [
      h(
        "p",
        { class: "prediction" },
        `${rows.length} ${rows.length === 1 ? "row" : "rows"} predicted from ${fileName}. `,
        h("a", { href: url, download: downloadName, class: "download", text: `Download ${downloadName}` }),
      ),
      h(
        "div",
        { class: "table-wrap", tabindex: "0", role: "region", "aria-labelledby": captionId },
        h(
          "table",
          {},
          h(
            "caption",
            { id: captionId },
            rows.length > shown.length ? `The first ${shown.length} of ${rows.length} rows` : `Predictions for ${fileName}`,
          ),
          h("thead", {}, h("tr", {}, header.map((name) => h("th", { scope: "col", text: name })))),
          h(
            "tbody",
            {},
            shown.map((cells) =>
              h(
                "tr",
                {},
                cells.map((value, i) => h("td", { class: header[i] === "prediction" ? "label" : null, text: value })),
              ),
            ),
          ),
        ),
      ),
    ],
  };
}

function csvTool(model, uid, proba) {
  const result = h("div", { class: "result", "aria-live": "polite" });
  const inputId = `${uid}-csv`;
  const input = h("input", { id: inputId, type: "file", accept: ".csv,text/csv", class: "visually-hidden" });
  const zone = h(
    "label",
    { class: "drop", for: inputId },
    h("strong", { text: "Drop a CSV file here" }),
    h("span", { text: " or press to choose one" }),
  );
  let lastUrl = null;
  async function send(file) {
    if (!file) return;
    const form = new FormData();
    form.append("file", file, file.name);
    show(result, h("p", { class: "hint", text: `Predicting ${file.name}…` }));
    try {
      const response = await call(model.endpoints.predict_file + (proba ? "?proba=true" : ""), {
        method: "POST",
        headers: { Accept: "text/csv" },
        body: form,
      });
      const table = csvTable(await response.text(), file.name, `${model.name}-predictions.csv`, uid);
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = table.url;
      show(result, table.nodes);
    } catch (error) {
      show(result, renderError(error));
    }
  }
  input.addEventListener("change", () => {
    send(input.files[0]);
    input.value = "";
  });
  for (const name of ["dragenter", "dragover"]) {
    zone.addEventListener(name, (event) => {
      event.preventDefault();
      zone.classList.add("over");
    });
  }
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    send(event.dataTransfer.files[0]);
  });
  const names = model.signature.inputs.map((f) => f.name);
  const header = names.length > 6 ? `${names.slice(0, 6).join(",")},… (${names.length} columns)` : names.join(",");
  return h(
    "section",
    { class: "tool", "data-tool": "csv", "aria-labelledby": `${uid}-csv-title` },
    h("h3", { id: `${uid}-csv-title`, text: "CSV file" }),
    h("p", { class: "hint" }, "A header naming the features, e.g. ", h("code", { text: header })),
    input,
    zone,
    result,
  );
}

// ---- Pictures: a drawing canvas and a file picker ----------------------------------------

function paintSeen(canvas, grid, scaleMax) {
  const height = grid.length;
  const width = grid[0].length;
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext("2d");
  const pixels = context.createImageData(width, height);
  grid.flat().forEach((value, i) => {
    const level = Math.round(Math.max(0, Math.min(1, value / scaleMax)) * 255);
    pixels.data.set([level, level, level, 255], i * 4);
  });
  context.putImageData(pixels, 0, 0);
  canvas.hidden = false;
}

function imageTool(model, uid, proba) {
  const spec = model.signature.image;
  const size = 280;
  const board = h("canvas", {
    class: "board",
    width: size,
    height: size,
    role: "img",
    "aria-label": "Drawing area: draw a digit with the mouse, a pen or a finger (or upload a picture below)",
  });
  const seen = h("canvas", {
    class: "seen",
    width: spec.width,
    height: spec.height,
    role: "img",
    "aria-label": `The ${spec.width} by ${spec.height} picture the model saw`,
    hidden: true,
  });
  seen.style.aspectRatio = `${spec.width} / ${spec.height}`;
  const result = h("div", { class: "result", "aria-live": "polite", "aria-atomic": "true" });
  const context = board.getContext("2d");
  let sequence = 0;
  let timer = null;
  let drawn = false;

  function wipe() {
    context.fillStyle = "#fff";
    context.fillRect(0, 0, size, size);
    drawn = false;
  }

  function clear() {
    wipe();
    clearTimeout(timer);
    sequence++;
    seen.hidden = true;
    show(result, h("p", { class: "hint", text: "Draw a digit, large, in the middle of the white square." }));
  }

  async function send(blob, name) {
    const mine = ++sequence;
    const form = new FormData();
    form.append("file", blob, name);
    try {
      const query = `?input=true${proba ? "&proba=true" : ""}`;
      const response = await call(model.endpoints.predict_image + query, { method: "POST", body: form });
      const body = await response.json();
      if (mine !== sequence) return; // an older answer arriving after a newer stroke
      paintSeen(seen, body.input, spec.scale_max);
      show(result, renderPrediction(body));
    } catch (error) {
      if (mine === sequence) show(result, renderError(error));
    }
  }

  function sendBoard() {
    clearTimeout(timer);
    if (drawn) board.toBlob((blob) => send(blob, "drawing.png"), "image/png");
  }

  function point(event) {
    const box = board.getBoundingClientRect();
    return [((event.clientX - box.left) * size) / box.width, ((event.clientY - box.top) * size) / box.height];
  }

  let last = null;
  board.addEventListener("pointerdown", (event) => {
    event.preventDefault();
    board.setPointerCapture(event.pointerId);
    last = point(event);
    context.beginPath();
    context.arc(last[0], last[1], context.lineWidth / 2, 0, 2 * Math.PI);
    context.fillStyle = "#000";
    context.fill();
    drawn = true;
  });
  board.addEventListener("pointermove", (event) => {
    if (!last) return;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [event];
    context.beginPath();
    context.moveTo(...last);
    for (const e of events.length ? events : [event]) {
      last = point(e);
      context.lineTo(...last);
    }
    context.stroke();
    clearTimeout(timer);
    timer = setTimeout(sendBoard, DRAW_DEBOUNCE_MS);
  });
  for (const name of ["pointerup", "pointercancel"]) {
    board.addEventListener(name, () => {
      if (!last) return;
      last = null;
      sendBoard();
    });
  }

  const fileId = `${uid}-image`;
  const picker = h("input", { id: fileId, type: "file", accept: "image/png,image/jpeg" });
  picker.addEventListener("change", () => {
    const file = picker.files[0];
    if (!file) return;
    picker.value = "";
    // Show the picture on the board, fitted, so what was sent stays in view; then send the file itself.
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => {
      wipe();
      const scale = Math.min(size / image.width, size / image.height);
      const [w, h] = [image.width * scale, image.height * scale];
      context.drawImage(image, (size - w) / 2, (size - h) / 2, w, h);
      URL.revokeObjectURL(url);
      send(file, file.name);
    };
    image.onerror = () => {
      URL.revokeObjectURL(url);
      send(file, file.name); // not a picture the browser can show: the API says why
    };
    image.src = url;
  });

  context.lineWidth = size / 10; // thick like the pen strokes of the digits the model learned
  context.lineCap = "round";
  context.lineJoin = "round";
  context.strokeStyle = "#000";
  clear();

  return h(
    "section",
    { class: "tool image", "data-tool": "image", "aria-labelledby": `${uid}-image-title` },
    h("h3", { id: `${uid}-image-title`, text: "Draw or upload a picture" }),
    h("div", { class: "drawing" },
      h("div", { class: "board-wrap" }, board),
      h("figure", { class: "seen-wrap" }, seen,
        h("figcaption", { text: `What the model saw: ${spec.width}×${spec.height} grey levels, ink bright` }))),
    h(
      "div",
      { class: "actions" },
      h("button", { type: "button", onclick: clear, text: "Clear the drawing" }),
      h("label", { for: fileId, class: "picker" }, "Or upload a PNG or JPEG: "),
      picker,
    ),
    result,
  );
}

// ---- The cards ---------------------------------------------------------------------------

function signatureDetails(model) {
  const { inputs, output, image } = model.signature;
  const summary = `Signature: ${inputs.length} ${inputs.length === 1 ? "input" : "inputs"} → ${output.task}` +
    (output.classes ? ` (${output.classes.length} classes)` : "");
  return h(
    "details",
    { class: "signature" },
    h("summary", { text: summary }),
    h(
      "div",
      { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `Inputs of ${model.name}` },
      h(
        "table",
        {},
        h("thead", {}, h("tr", {}, ["Input", "Type", "Description", "Example"].map((t) => h("th", { scope: "col", text: t })))),
        h(
          "tbody",
          {},
          inputs.map((f) =>
            h(
              "tr",
              {},
              h("td", {}, h("code", { text: f.name })),
              h("td", {
                text: [f.categories ? `${f.type}: ${f.categories.join(", ")}` : f.type, f.allows_missing ? "may be missing" : ""]
                  .filter(Boolean)
                  .join("; "),
              }),
              h("td", { text: f.description || "" }),
              h("td", { text: String(f.example) }),
            ),
          ),
        ),
      ),
    ),
    Array.isArray(output.classes) ? h("p", {}, "Classes: ", output.classes.map(String).join(", ")) : null,
    output.targets ? h("p", {}, "Targets (one answer each): ", output.targets.join(", ")) : null,
    image ? h("p", { text: `Pictures become ${image.width}×${image.height} grey levels (0..${image.scale_max}).` }) : null,
    h("p", {}, "Endpoints: ", Object.values(model.endpoints).map((path, i) => [i ? ", " : "", h("code", { text: path })])),
  );
}

function card(model, index) {
  const uid = `m${index}`;
  // Bars for one output's classes; a multi-output model's answer is shown as its list.
  const proba = model.signature.output.probabilities === true && !model.signature.output.targets;
  return h(
    "article",
    { class: "card", id: `model-${model.name}`, "aria-labelledby": `${uid}-title` },
    h(
      "header",
      {},
      h("h2", { id: `${uid}-title`, text: model.name }),
      h("span", { class: "badge", title: "The runtime serving this model", text: `runtime: ${model.runtime}` }),
    ),
    model.description ? h("p", { class: "description", text: model.description }) : null,
    signatureDetails(model),
    h(
      "div",
      { class: "tools" },
      model.endpoints.predict_image ? imageTool(model, uid, proba) : null,
      formTool(model, uid, proba),
      csvTool(model, uid, proba),
    ),
  );
}

async function loadModels() {
  const main = document.getElementById("models");
  main.setAttribute("aria-busy", "true");
  try {
    const response = await call("/models");
    const { models } = await response.json();
    show(main, models.length ? models.map(card) : h("p", { text: "This server serves no model." }));
  } catch (error) {
    show(main, h("div", { role: "alert" }, renderError(error)));
  } finally {
    main.setAttribute("aria-busy", "false");
  }
}

setUpKeyForm();
loadModels();
