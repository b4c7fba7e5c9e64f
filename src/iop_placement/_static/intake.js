// The intake page: builds its form from the assessment's JSON Schema (api/schema), shows
// the provisional result live as questions are answered (api/provisional: the exact range
// and what to ask next, the final recommendation once every question is answered), posts
// the answers (api/recommendation) and shows the labelled recommendation. No question,
// value or label is written here: everything comes from the schema and the server.
// Text is only ever set with textContent, never parsed as HTML.
//
// Adaptive order: api/provisional names the next question (the safety screen first, then
// the most decisive open one); only the questions asked so far are shown, until the level
// is settled or "Show all questions" is on. The live panel is a sticky aside beside the
// questions (a compact bar at the bottom on a phone). "Print summary (PDF)" posts the
// answers to api/summary.pdf.
//
// Language: the page writes no sentence of its own. TEXT is filled from api/page-text in
// the language chosen (the server's gettext catalogue, the same one as the questions,
// labels, reasons and flags come from), with the languages there are for the switch.
// The language is the page URL's ?lang= if the server has it, else the first of the
// browser's languages (navigator.languages) it has, else English; switching re-asks the
// schema, the uiSchema and the page's sentences, keeps every answer given, sets
// <html lang> and ?lang= in the address, and every API call carries lang. Elements with
// data-text="key" in the HTML take TEXT[key]; "{name}" in a sentence is filled by fill().
"use strict";

const TEXT = {};

(() => {
  const form = document.getElementById("intake");
  const questions = document.getElementById("questions");
  const submit = document.getElementById("submit");
  const result = document.getElementById("result");
  const live = document.getElementById("provisional");
  let schema = null;
  let uiSchema = {};
  const touched = new Set(); // list questions answered (an untouched list is unanswered)
  let pending = null;
  let sequence = 0;
  let liveResult = false; // whether #result shows the live final recommendation
  let submitted = false; // whether #result shows a submitted recommendation
  const showAll = document.getElementById("show-all");
  const asked = []; // the questions put so far, in the order asked (adaptive mode)
  let current = null; // the question asked now
  let settled = false; // the level is settled: every question may be shown
  let sources = {}; // source document file name -> its title (static/sources.json)
  const phone = window.matchMedia("(max-width: 48rem)");
  const printButton = el("button", { type: "button", id: "print", class: "secondary" });
  const picker = document.getElementById("language");
  let lang = "en"; // the language shown; every API call asks for it
  let languages = []; // [{code, name}] from the server, each named in itself

  function fill(sentence, values) {
    return sentence.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));
  }

  function api(path) {
    return `${path}?lang=${encodeURIComponent(lang)}`;
  }

  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function choicesOf(property) {
    if (Array.isArray(property.oneOf)) return property.oneOf;
    if (property.items && Array.isArray(property.items.oneOf)) return property.items.oneOf;
    return null;
  }

  function option(name, type, choice, required) {
    const id = `${name}--${String(choice.const)}`;
    const input = el("input", {
      type,
      id,
      name,
      value: JSON.stringify(choice.const),
      required: required && type === "radio",
    });
    const text = el("span", {}, el("span", { class: "option-title", text: choice.title ?? String(choice.const) }));
    if (choice.description) text.append(el("span", { class: "option-help", text: choice.description }));
    return el("label", { class: "option", for: id }, input, text);
  }

  function question(name, property, required) {
    const fieldset = el("fieldset", { class: "question", id: `q-${name}`, "data-field": name });
    fieldset.append(el("legend", { text: property.title ?? name }));
    if (property.description) fieldset.append(el("p", { class: "help", text: property.description }));
    let choices = choicesOf(property);
    const absent = uiSchema[name]?.["ui:options"]?.["x-absent-label"];
    if (choices && !required && absent) {
      // An optional question can be answered "not asked": it then means what the model says.
      choices = [...choices, { const: null, title: absent }];
    }
    if (choices) {
      const type = property.type === "array" ? "checkbox" : "radio";
      const options = el("div", { class: "options" });
      for (const choice of choices) options.append(option(name, type, choice, required));
      fieldset.append(options);
      if (type === "checkbox") {
        // A list may be answered with nothing ticked: say so, and the next question comes.
        const none = el("button", { type: "button", class: "secondary none", id: `${name}--none`, text: TEXT.noneOfThese });
        none.addEventListener("click", () => {
          for (const box of fieldset.querySelectorAll("input[type=checkbox]")) box.checked = false;
          touched.add(name);
          schedule();
        });
        fieldset.append(none);
      }
    } else if (property.type === "integer" || property.type === "number") {
      fieldset.append(
        el("input", {
          type: "number",
          id: name,
          name,
          min: property.minimum,
          max: property.maximum,
          step: property.type === "integer" ? 1 : "any",
          required,
          "aria-label": property.title ?? name,
        }),
      );
    } else {
      fieldset.append(el("input", { type: "text", id: name, name, required, "aria-label": property.title ?? name }));
    }
    return fieldset;
  }

  function answers(partial = false) {
    const collected = {};
    for (const [name, property] of Object.entries(schema.properties)) {
      const selector = `[name="${CSS.escape(name)}"]`;
      if (choicesOf(property)) {
        const checked = [...form.querySelectorAll(`${selector}:checked`)].map((input) => JSON.parse(input.value));
        if (property.type === "array") {
          if (!partial || touched.has(name) || checked.length) collected[name] = checked;
        }
        else if (checked.length) collected[name] = checked[0];
      } else {
        const input = form.querySelector(selector);
        if (input && input.value !== "") {
          collected[name] = property.type === "string" ? input.value : Number(input.value);
        }
      }
    }
    return collected;
  }

  function section(title, ...children) {
    const box = el("section", {}, el("h3", { text: title }));
    for (const child of children) box.append(child);
    return box;
  }

  // A source names its documents by file name: show each document's title instead.
  function readable(source) {
    return source.replace(/\b\d{3}_[0-9a-f]{16}\.txt\b/g, (name) => (sources[name] ? `“${sources[name]}”` : name));
  }

  function reasonList(id, reasons) {
    const list = el("ol", { id, class: "reasons" });
    for (const reason of reasons) {
      list.append(
        el(
          "li",
          { "data-rule": reason.rule_id },
          el("strong", { text: reason.title }),
          " ",
          el("span", { class: "rule-id", text: `${reason.rule_id} → ${reason.level ?? TEXT.flagsOnly}` }),
          el("p", { text: reason.text }),
          el("p", { class: "facts", text: `${TEXT.facts}: ${reason.facts}` }),
          el("p", { class: "source", text: `${TEXT.source}: ${readable(reason.source)}` }),
        ),
      );
    }
    return list;
  }

  // Which questions show, in which order: adaptive mode shows those asked so far, in the
  // order asked (the DOM order, so that focus follows it); otherwise the interview order.
  function layout() {
    const all = !!showAll.checked || settled;
    const fieldsets = [...questions.querySelectorAll("fieldset.question")];
    const rank = (f) => {
      const at = asked.indexOf(f.dataset.field);
      return showAll.checked || at < 0 ? asked.length + Number(f.dataset.order) : at;
    };
    fieldsets.sort((a, b) => rank(a) - rank(b));
    fieldsets.forEach((fieldset, index) => {
      // Only a question out of place moves (moving the one being typed in would blur it).
      if (questions.children[index] !== fieldset) questions.insertBefore(fieldset, questions.children[index]);
      const name = fieldset.dataset.field;
      fieldset.hidden = !all && !asked.includes(name);
      fieldset.classList.toggle("current", name === current && !showAll.checked);
    });
    document.body.dataset.mode = all ? "all" : "adaptive";
  }

  function ask(next) {
    current = next;
    if (next && !asked.includes(next)) {
      asked.push(next);
      layout();
      const fieldset = document.getElementById(`q-${next}`);
      if (fieldset && !showAll.checked) fieldset.scrollIntoView({ block: "nearest" });
    } else {
      layout();
    }
  }

  function showProvisional(view, next) {
    live.replaceChildren();
    live.dataset.lowest = view.lowest.code;
    live.dataset.highest = view.highest.code;
    live.dataset.complete = String(view.complete);
    live.dataset.next = next ?? "";
    settled = settled || (next === null && !view.complete);
    ask(next);
    if (view.complete) {
      live.append(el("p", { id: "provisional-range", text: TEXT.allAnswered }));
      live.hidden = true; // the recommendation itself is shown: nothing provisional is left
      show(view.recommendation, false);
      liveResult = true;
      return;
    }
    if (liveResult || submitted) {
      // An answer was changed or taken back: the result shown is not the answers' any more.
      result.hidden = true;
      liveResult = false;
      submitted = false;
    }
    live.append(el("h2", { text: TEXT.provisional }));
    if (view.incomplete_safety_screen) {
      live.append(
        el("div", { id: "safety-screen", class: "alert safety", role: "alert" },
          el("strong", { text: TEXT.safetyIncomplete }),
          TEXT.safetyAsk),
      );
    }
    live.append(el("p", { id: "provisional-range", class: "level", text: view.summary }));
    if (next) {
      const title = schema.properties[next]?.title ?? next;
      live.append(el("p", { id: "next-question", "data-field": next },
        el("strong", { text: `${TEXT.nextQuestion}: ` }), title));
    } else if (view.lowest.code === view.highest.code) {
      live.append(el("p", { id: "settled", class: "settled", text: TEXT.settled }));
    }
    const more = el("details", { id: "provisional-more", open: !phone.matches });
    more.append(el("summary", { text: TEXT.more }));
    if (view.ask_next.length) {
      const list = el("ol", { id: "ask-next" });
      for (const q of view.ask_next) {
        const outcomes = q.outcomes.map((o) => `${o.answer}: ${o.range}`).join("; ");
        list.append(
          el("li", { "data-field": q.field },
            el("strong", { text: q.title }), q.safety_screen ? TEXT.safetyScreen : "",
            el("p", { class: "help", text: outcomes })),
        );
      }
      more.append(section(TEXT.askNext, list));
    }
    if (view.possible_flags.length || view.flags.length) {
      const flags = el("ul", { id: "provisional-flags" });
      for (const flag of view.flags) flags.append(el("li", { "data-flag": flag.code, text: `${flag.label} (${TEXT.flagCertain})` }));
      for (const flag of view.possible_flags) flags.append(el("li", { "data-flag": flag.code, class: "possible", text: `${flag.label} (${TEXT.flagPossible})` }));
      more.append(section(TEXT.flags, flags));
    }
    const rest = el("ul", { id: "also-open" });
    for (const q of view.also_open) rest.append(el("li", { "data-field": q.field, text: q.title }));
    if (view.also_open.length) more.append(section(TEXT.alsoOpen, rest));
    if (more.childElementCount > 1) live.append(more);
    live.hidden = false;
  }

  async function refresh() {
    const mine = ++sequence;
    try {
      const response = await fetch(api("api/provisional"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(answers(true)),
      });
      const body = await response.json();
      if (mine !== sequence) return; // a newer answer is on its way
      if (response.ok) showProvisional(body.view, body.next ?? null);
    } catch (error) {
      // The live panel is a help; the submit button still works.
    } finally {
      if (mine === sequence) document.body.dataset.provisional = String(mine);
    }
  }

  async function printSummary() {
    printButton.disabled = true;
    document.body.dataset.printed = "";
    try {
      const response = await fetch(api("api/summary.pdf"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(answers()),
      });
      if (!response.ok) throw new Error(String(response.status));
      const pdf = await response.blob();
      const link = el("a", { href: URL.createObjectURL(pdf), download: "level-of-care-summary.pdf" });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60000);
      document.body.dataset.printed = `${pdf.type} ${pdf.size}`;
    } catch (error) {
      document.body.dataset.printed = "failed";
      showErrors(TEXT.printFailed, []);
    } finally {
      printButton.disabled = false;
    }
  }

  function schedule(event) {
    if (event && event.target && event.target.type === "checkbox") touched.add(event.target.name);
    clearTimeout(pending);
    pending = setTimeout(refresh, 150);
  }

  function show(view, scroll = true) {
    result.replaceChildren();
    if (view.alert) {
      result.append(
        el(
          "div",
          { id: "alert", class: `flag flag-${view.alert.code} alert`, role: "alert" },
          el("strong", { text: `${view.alert.label}: ` }),
          view.alert.ask,
        ),
      );
    }
    if (view.safety_notice) {
      result.append(
        el(
          "div",
          { id: "safety", class: "alert safety", role: "alert" },
          el("strong", { text: `${TEXT.safetyFirst}: ` }),
          view.safety_notice,
        ),
      );
    }
    result.append(el("h2", { text: TEXT.suggested }));
    result.append(el("p", { id: "level", class: "level", "data-level": view.level.code, text: view.level.label }));
    result.append(el("p", { class: "intensity", text: view.level.intensity }));
    if (view.flags.length) {
      const flags = el("ul", { id: "flags", class: "flags" });
      for (const flag of view.flags) {
        flags.append(
          el(
            "li",
            { class: `flag flag-${flag.code} flag-kind-${flag.kind}`, "data-flag": flag.code },
            el("strong", { text: `${flag.label}: ` }),
            flag.description,
          ),
        );
      }
      result.append(section(TEXT.flags, flags));
    }
    if (view.deciding.length) result.append(section(TEXT.whyDeciding, reasonList("deciding", view.deciding)));
    else result.append(section(TEXT.why, el("p", { text: TEXT.noRule })));
    if (view.dimensions && view.dimensions.length) {
      const body = el("tbody");
      for (const dim of view.dimensions) {
        const why = dim.reasons.map((r) => fill(TEXT.ratingGives, r)).join("; ");
        body.append(
          el(
            "tr",
            { "data-dimension": dim.code, "data-rating": String(dim.rating) },
            el("td", { text: dim.label }),
            el("td", { text: `${dim.rating} (${dim.rating_label.toLowerCase()})` }),
            el("td", { text: why || TEXT.noRatingRule }),
          ),
        );
      }
      const head = el("thead", {}, el("tr", {}, el("th", { text: TEXT.dimension }), el("th", { text: TEXT.rating }), el("th", { text: TEXT.why })));
      result.append(section(TEXT.dimensionRatings, el("table", { id: "dimensions", class: "dimensions" }, head, body)));
    }
    if (view.supporting.length) result.append(section(TEXT.alsoConsidered, reasonList("supporting", view.supporting)));
    if (view.alternative) {
      const conditions = el("ul");
      for (const condition of view.alternative.conditions) conditions.append(el("li", { text: condition }));
      result.append(
        el(
          "section",
          { id: "alternative", class: "alternative", "data-level": view.alternative.code },
          el("h3", { text: `${TEXT.alternative}: ${view.alternative.label}` }),
          el("p", { text: TEXT.onlyIf }),
          conditions,
        ),
      );
    }
    if (view.asam) {
      const levels = el("ul");
      for (const level of view.asam.levels) {
        levels.append(el("li", { text: fill(TEXT.asamLevel, level) }));
      }
      result.append(
        el(
          "section",
          { id: "asam", class: "asam" },
          el("h3", { text: TEXT.asam }),
          levels,
          el("p", { class: "help", text: view.asam.note }),
        ),
      );
    }
    const ruleset = view.ruleset;
    result.append(
      el("footer", { class: "ruleset" },
        el("p", { text: view.notice }),
        el("p", { text: fill(TEXT.ruleset, ruleset) }),
      ),
    );
    result.append(el("div", { class: "actions" }, printButton));
    result.hidden = false;
    if (scroll) result.scrollIntoView();
  }

  function showErrors(message, problems) {
    result.replaceChildren();
    const list = el("ul");
    for (const problem of problems ?? []) {
      const title = schema.properties[problem.field]?.title ?? problem.field;
      list.append(el("li", { text: `${title}: ${problem.problem}` }));
    }
    result.append(el("div", { id: "errors", class: "errors", role: "alert" }, el("p", { text: message }), list));
    result.hidden = false;
  }

  async function recommend(event) {
    if (event) event.preventDefault();
    submit.disabled = true;
    try {
      const response = await fetch(api("api/recommendation"), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(answers()),
      });
      const body = await response.json();
      if (response.ok) {
        clearTimeout(pending);
        sequence += 1; // a provisional answer still on its way is older than this result
        live.hidden = true; // no stale provisional panel above the result
        show(body.view, !!event);
        submitted = true;
      } else showErrors(TEXT.invalid, body.problems);
      liveResult = false;
    } catch (error) {
      showErrors(TEXT.unreachable, []);
    } finally {
      submit.disabled = false;
    }
  }

  function applyText() {
    for (const node of document.querySelectorAll("[data-text]")) {
      if (TEXT[node.dataset.text]) node.textContent = TEXT[node.dataset.text];
    }
    document.documentElement.lang = lang;
    document.title = `${TEXT.title} · iop-placement`;
    live.setAttribute("aria-label", TEXT.provisionalPanel);
    printButton.textContent = TEXT.print;
    picker.replaceChildren();
    for (const language of languages) {
      picker.append(el("option", { value: language.code, lang: language.code, selected: language.code === lang, text: language.name }));
    }
    picker.parentElement.hidden = languages.length < 2;
  }

  // The page's sentences, schema and uiSchema in ``code``.
  async function load(code) {
    lang = code;
    const [textResponse, schemaResponse, uiResponse] = await Promise.all([
      fetch(api("api/page-text")),
      fetch(api("api/schema")),
      fetch(api("api/ui-schema")),
    ]);
    if (!textResponse.ok || !schemaResponse.ok) throw new Error(String(schemaResponse.status));
    const text = await textResponse.json();
    Object.assign(TEXT, text.text);
    languages = text.languages;
    schema = await schemaResponse.json();
    uiSchema = uiResponse.ok ? await uiResponse.json() : {};
  }

  // The language to start in: ?lang= if the server has it, else the browser's, else English.
  function chooseLanguage(available) {
    const base = (code) => String(code).replace("_", "-").split("-")[0].toLowerCase();
    const codes = available.map((language) => language.code);
    const wanted = [new URLSearchParams(window.location.search).get("lang"), ...(navigator.languages ?? [navigator.language])];
    for (const code of wanted) if (code && codes.includes(base(code))) return base(code);
    return codes[0] ?? "en";
  }

  function build() {
    const required = new Set(schema.required ?? []);
    questions.replaceChildren();
    let order = 0;
    for (const [name, property] of Object.entries(schema.properties)) {
      const fieldset = question(name, property, required.has(name));
      fieldset.dataset.order = String(order++);
      questions.append(fieldset);
    }
  }

  // Put answers (as answers(true) gives them) back into freshly built questions.
  function restore(given) {
    for (const [name, value] of Object.entries(given)) {
      const property = schema.properties[name];
      if (!property) continue;
      if (choicesOf(property)) {
        const wanted = (Array.isArray(value) ? value : [value]).map((v) => JSON.stringify(v));
        for (const input of form.querySelectorAll(`[name="${CSS.escape(name)}"]`)) {
          input.checked = wanted.includes(input.value);
        }
      } else {
        const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
        if (input) input.value = String(value);
      }
    }
  }

  async function switchLanguage(code) {
    if (code === lang) return;
    const given = answers(true);
    picker.disabled = true;
    document.body.dataset.switched = "";
    try {
      await load(code);
      build();
      restore(given);
      applyText();
      layout();
      const url = new URL(window.location.href);
      url.searchParams.set("lang", lang);
      window.history.replaceState(null, "", url);
      if (submitted) await recommend(null); // the result shown, now in this language
      else await refresh(); // the provisional panel (or the live final result)
    } finally {
      picker.disabled = false;
      document.body.dataset.switched = lang;
    }
  }

  async function start() {
    const sourcesResponse = await fetch("static/sources.json");
    sources = sourcesResponse.ok ? (await sourcesResponse.json()).documents ?? {} : {};
    // The languages there are come with the page's sentences (in any language).
    const offered = await fetch("api/page-text");
    if (!offered.ok) throw new Error(String(offered.status));
    await load(chooseLanguage((await offered.json()).languages));
    applyText();
    build();
    showAll.checked = new URLSearchParams(window.location.search).has("all");
    showAll.addEventListener("change", layout);
    layout();
    questions.removeAttribute("aria-busy");
    printButton.addEventListener("click", printSummary);
    picker.addEventListener("change", () => switchLanguage(picker.value));
    submit.addEventListener("click", () => {
      // Submitting before the level is settled: show every question, so that the
      // browser can point at the ones still unanswered.
      if (!showAll.checked && !settled) {
        showAll.checked = true;
        layout();
      }
    });
    form.addEventListener("submit", recommend);
    form.addEventListener("change", schedule);
    form.addEventListener("input", schedule);
    submit.disabled = false;
    refresh();
    document.body.dataset.ready = "true";
  }

  start().catch(() => {
    questions.replaceChildren(el("p", { class: "errors", text: TEXT.loadFailed ?? "The questions could not be loaded." }));
  });
})();
