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
// Language: every sentence of the page's own is in TEXT below, and the questions, labels,
// reasons and flags come from the server; a language switch replaces TEXT (and asks the
// API for the same language) in this one place. Elements with data-text="key" in the
// HTML take TEXT[key].
"use strict";

const TEXT = {
  showAll: "Show all questions",
  adaptiveHelp:
    "The most decisive question is asked next, the safety screen first; the others appear once the level is settled.",
  submit: "Suggest a level of care",
  print: "Print summary (PDF)",
  printFailed: "The summary could not be made.",
  noneOfThese: "None of these",
  provisional: "Provisional (intake incomplete)",
  settled: "The level is settled: the other questions cannot change it. Answer them for the full record.",
  nextQuestion: "Next question",
  allAnswered: "Every question is answered: the recommendation is below.",
  safetyIncomplete: "Safety screen incomplete: ",
  safetyAsk: "ask about suicide risk, medical stability and detox first.",
  safetyScreen: " (safety screen)",
  askNext: "Ask next (most decisive first)",
  more: "Details",
  flags: "Flags",
  flagCertain: "whatever the open answers",
  flagPossible: "possible",
  alsoOpen: "Also still open (cannot change the range)",
  stale: "An answer changed since this result: suggest again.",
};

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
  const printButton = el("button", { type: "button", id: "print", class: "secondary", text: TEXT.print });

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
          el("span", { class: "rule-id", text: `${reason.rule_id} → ${reason.level ?? "flags only"}` }),
          el("p", { text: reason.text }),
          el("p", { class: "facts", text: `Facts: ${reason.facts}` }),
          el("p", { class: "source", text: `Source: ${readable(reason.source)}` }),
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
      const response = await fetch("api/provisional", {
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
      const response = await fetch("api/summary.pdf", {
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
          el("strong", { text: "Safety first: " }),
          view.safety_notice,
        ),
      );
    }
    result.append(el("h2", { text: "Suggested level of care" }));
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
      result.append(section("Flags", flags));
    }
    if (view.deciding.length) result.append(section("Why (deciding reasons)", reasonList("deciding", view.deciding)));
    else result.append(section("Why", el("p", { text: "No rule calls for more than standard outpatient care." })));
    if (view.dimensions && view.dimensions.length) {
      const body = el("tbody");
      for (const dim of view.dimensions) {
        const why = dim.reasons.map((r) => `${r.title} (${r.rule_id}) gives ${r.rating}: ${r.facts}`).join("; ");
        body.append(
          el(
            "tr",
            { "data-dimension": dim.code, "data-rating": String(dim.rating) },
            el("td", { text: dim.label }),
            el("td", { text: `${dim.rating} (${dim.rating_label.toLowerCase()})` }),
            el("td", { text: why || "No rating rule holds." }),
          ),
        );
      }
      const head = el("thead", {}, el("tr", {}, el("th", { text: "Dimension" }), el("th", { text: "Rating" }), el("th", { text: "Why" })));
      result.append(section("Dimension ratings", el("table", { id: "dimensions", class: "dimensions" }, head, body)));
    }
    if (view.supporting.length) result.append(section("Also considered", reasonList("supporting", view.supporting)));
    if (view.alternative) {
      const conditions = el("ul");
      for (const condition of view.alternative.conditions) conditions.append(el("li", { text: condition }));
      result.append(
        el(
          "section",
          { id: "alternative", class: "alternative", "data-level": view.alternative.code },
          el("h3", { text: `Alternative the clinician may weigh: ${view.alternative.label}` }),
          el("p", { text: "Only if:" }),
          conditions,
        ),
      );
    }
    if (view.asam) {
      const levels = el("ul");
      for (const level of view.asam.levels) {
        levels.append(el("li", { text: `${level.edition} edition ${level.code}: ${level.label}` }));
      }
      result.append(
        el(
          "section",
          { id: "asam", class: "asam" },
          el("h3", { text: "Approximate ASAM Criteria levels" }),
          levels,
          el("p", { class: "help", text: view.asam.note }),
        ),
      );
    }
    const ruleset = view.ruleset;
    result.append(
      el("footer", { class: "ruleset" },
        el("p", { text: view.notice }),
        el("p", { text: `Rule set ${ruleset.name} ${ruleset.version}, sha256 ${ruleset.sha256}` }),
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
    event.preventDefault();
    submit.disabled = true;
    try {
      const response = await fetch("api/recommendation", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(answers()),
      });
      const body = await response.json();
      if (response.ok) {
        clearTimeout(pending);
        sequence += 1; // a provisional answer still on its way is older than this result
        live.hidden = true; // no stale provisional panel above the result
        show(body.view);
        submitted = true;
      } else showErrors(body.error, body.problems);
      liveResult = false;
    } catch (error) {
      showErrors("The service could not be reached.", []);
    } finally {
      submit.disabled = false;
    }
  }

  async function start() {
    for (const node of document.querySelectorAll("[data-text]")) {
      if (TEXT[node.dataset.text]) node.textContent = TEXT[node.dataset.text];
    }
    const [schemaResponse, uiResponse, sourcesResponse] = await Promise.all([
      fetch("api/schema"),
      fetch("api/ui-schema"),
      fetch("static/sources.json"),
    ]);
    schema = await schemaResponse.json();
    uiSchema = uiResponse.ok ? await uiResponse.json() : {};
    sources = sourcesResponse.ok ? (await sourcesResponse.json()).documents ?? {} : {};
    const required = new Set(schema.required ?? []);
    questions.replaceChildren();
    let order = 0;
    for (const [name, property] of Object.entries(schema.properties)) {
      const fieldset = question(name, property, required.has(name));
      fieldset.dataset.order = String(order++);
      questions.append(fieldset);
    }
    showAll.checked = new URLSearchParams(window.location.search).has("all");
    showAll.addEventListener("change", layout);
    layout();
    questions.removeAttribute("aria-busy");
    printButton.addEventListener("click", printSummary);
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
    questions.replaceChildren(el("p", { class: "errors", text: "The questions could not be loaded." }));
  });
})();
